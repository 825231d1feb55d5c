/**
 * One system, one scenario, one fresh database, in a process of its own (so nothing warmed up by
 * one system helps or hurts the next, and graphile-worker's NO_LOG_SUCCESS applies only where set).
 * Started by bench/queue.ts with a JSON spec as argv[2]; answers over IPC.
 */
import { z } from "zod";
import { runDrain, runSteady, type QueueSystem } from "./harness.ts";
import { graphileSystem } from "./systems/graphile.ts";
import { peakwatchSystem } from "./systems/peakwatch.ts";
import { pgbossSystem } from "./systems/pgboss.ts";

export const SystemSpec = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("peakwatch") }),
  z.object({ kind: z.literal("graphile"), localQueueSize: z.number().int().positive().nullable() }),
  z.object({ kind: z.literal("pgboss"), tuned: z.boolean() }),
]);
export type SystemSpec = z.infer<typeof SystemSpec>;

export const ChildSpec = z.object({
  url: z.string(),
  system: SystemSpec,
  scenario: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("drain"), items: z.number().int().positive(), capMs: z.number().int().positive() }),
    z.object({ kind: z.literal("steady"), startRate: z.number().positive(), maxRate: z.number().positive(), stepMs: z.number().int().positive(), refine: z.number().int().min(0) }),
  ]),
});
export type ChildSpec = z.infer<typeof ChildSpec>;

export function systemFor(url: string, spec: SystemSpec): QueueSystem {
  switch (spec.kind) {
    case "peakwatch":
      return peakwatchSystem(url);
    case "graphile":
      return graphileSystem(url, { localQueueSize: spec.localQueueSize });
    case "pgboss":
      return pgbossSystem(url, spec.tuned);
  }
}

async function main(): Promise<void> {
  const spec = ChildSpec.parse(JSON.parse(process.argv[2] ?? "null"));
  const system = systemFor(spec.url, spec.system);
  const result =
    spec.scenario.kind === "drain"
      ? await runDrain(system, spec.scenario.items, spec.scenario.capMs)
      : await runSteady(system, spec.scenario);
  process.send!({ name: system.name, settings: system.settings, result });
}

if (process.send) {
  main().then(
    () => {
      process.disconnect();
      // Pools are closed by stop(); anything a library left open must not keep the process.
      setTimeout(() => process.exit(0), 2_000).unref();
    },
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
