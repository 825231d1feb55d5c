import { z } from "zod";
import { sourceName } from "../calls/call-input.ts";
import { MAX_TIME_BUDGET_MS } from "../tracker/request.ts";

/** 1,000 calls of a few hundred bytes each, with room to spare. */
export const MAX_BODY_BYTES = 2_000_000;

/**
 * No body: poll every enabled source that is due. `source`: poll that one now. `calls`: ingest
 * calls posted by hand or by another bot (each checked against `postedCall`, at most 1,000).
 */
export const pollerRequest = z
  .strictObject({
    source: sourceName.optional(),
    /** Checked call by call after the batch size, so an oversized batch is a 413, not a list of 400s. */
    calls: z.array(z.unknown()).min(1).optional(),
    /** Polling only: answer 202 at once and keep polling in the background. */
    async: z.boolean().default(false),
    trigger: z.enum(["http", "cron", "orchestrator", "test"]).default("http"),
    timeBudgetMs: z.int().min(1_000).max(MAX_TIME_BUDGET_MS).default(50_000),
  })
  .refine((body) => body.source === undefined || body.calls === undefined, {
    message: "send source (poll it) or calls (ingest them), not both",
    path: ["calls"],
  });

export type PollerRequest = z.infer<typeof pollerRequest>;
