import { z } from "zod";

/** Edge wall clock is 150 s on the free plan; leave room to record the run after the loop stops. */
export const MAX_TIME_BUDGET_MS = 140_000;

export const trackerRequest = z.strictObject({
  maxTokens: z.int().min(1).max(10_000).optional(),
  timeBudgetMs: z.int().min(1_000).max(MAX_TIME_BUDGET_MS).default(50_000),
  chains: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "a lowercase chain id")).min(1).max(50).optional(),
  /** Answer 202 at once and keep working in the background (what the cron job asks for). */
  async: z.boolean().default(false),
  trigger: z.enum(["http", "cron", "orchestrator", "test"]).default("http"),
});

export type TrackerRequest = z.infer<typeof trackerRequest>;
