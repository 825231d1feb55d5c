import type { Database } from "./database.types.ts";

type Schema = Database["peakwatch"];
type Fn<Name extends keyof Schema["Functions"]> = Schema["Functions"][Name];

export type TokenRow = Schema["Tables"]["tokens"]["Row"];
export type CallRow = Schema["Tables"]["calls"]["Row"];
export type QueueRow = Schema["Tables"]["queue"]["Row"];
export type RunRow = Schema["Tables"]["runs"]["Row"];
export type SourceRow = Schema["Tables"]["sources"]["Row"];

export type ClaimedToken = Fn<"claim">["Returns"][number];
export type FailedToken = Fn<"fail">["Returns"][number];
export type Backlog = Fn<"backlog">["Returns"][number];
export type FunctionArgs<Name extends keyof Schema["Functions"]> = Fn<Name>["Args"];
export type ClaimedSource = Fn<"claim_sources">["Returns"][number];
export type IngestedBatch = Fn<"ingest_calls">["Returns"][number];
