import { z } from "zod";
import { MAX_TIME_BUDGET_MS } from "../tracker/request.ts";

export const candlesRequest = z.strictObject({
  /** Stop after this many stream steps (tests, drills); unbounded by default. */
  maxSteps: z.int().min(1).max(100_000).optional(),
  timeBudgetMs: z.int().min(1_000).max(MAX_TIME_BUDGET_MS).default(50_000),
  /** Answer 202 at once and keep working in the background (what the cron job asks for). */
  async: z.boolean().default(false),
  trigger: z.enum(["http", "cron", "orchestrator", "test"]).default("http"),
});

export type CandlesRequest = z.infer<typeof candlesRequest>;
