import { z } from "zod";
import { credentialName } from "./definitions.ts";

export const tokenRefreshRequest = z.strictObject({
  /** Only these credentials; all configured ones when omitted. */
  names: z.array(credentialName).min(1).max(100).optional(),
  /** Refresh even credentials that are not due (e.g. after rotating a secret). */
  force: z.boolean().default(false),
  trigger: z.enum(["http", "cron", "orchestrator", "test"]).default("http"),
  /** Answer 202 with the run id at once and refresh in the background (what the cron job asks for). */
  async: z.boolean().default(false),
});

export type TokenRefreshRequest = z.infer<typeof tokenRefreshRequest>;
