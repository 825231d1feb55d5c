import { z } from "zod";
import { credentialName } from "../../credentials/definitions.ts";
import { TRADOVATE_MD_URL } from "./provider.ts";

/** Settings of the Tradovate bar provider (the candles function reads them once). */
export const tradovateEnv = z.object({
  /** The tradovate credential whose market-data token opens the socket; unset: no futures collection. */
  TRADOVATE_CREDENTIAL: z.union([credentialName, z.literal("")]).optional().transform((value) => value || undefined),
  TRADOVATE_MD_URL: z.url({ protocol: /^wss?$/ }).default(TRADOVATE_MD_URL),
  TRADOVATE_SOCKET_WAIT_MS: z.coerce.number().int().min(0).max(120_000).default(15_000),
  TRADOVATE_SESSION_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  TRADOVATE_EOH_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(120_000).default(20_000),
});

export type TradovateEnv = z.infer<typeof tradovateEnv>;
