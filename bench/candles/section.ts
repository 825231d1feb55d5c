import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import type { CandleFillResult } from "./fill.ts";

/** What every bench:candles section gets: the filled scratch database and its shape. */
export interface CandleBenchContext {
  sql: Sql;
  url: string;
  adminUrl: string;
  fill: CandleFillResult;
  /** The newest bucket of the filled history (the last closed 15m bucket when filled). */
  to: Date;
  progress: (message: string) => void;
}

/** One part of bench:candles: printed lines and figures for the JSON report. */
export interface CandleBenchSection {
  name: string;
  run(ctx: CandleBenchContext): Promise<{ lines: string[]; figures: Record<string, unknown> }>;
}
