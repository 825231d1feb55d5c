import { z } from "zod";

export const orchestratorRequest = z.strictObject({
  trigger: z.enum(["http", "cron", "test"]).default("http"),
  async: z.boolean().default(false),
  /** Skip invoking other functions (fan-out, self-healing): evaluate and report only. */
  dryRun: z.boolean().default(false),
});

export type OrchestratorRequest = z.infer<typeof orchestratorRequest>;
