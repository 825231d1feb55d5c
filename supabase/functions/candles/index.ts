import { createCandlesHandler } from "../_shared/candles/handler.ts";
import { candlesDeps } from "../_shared/candles/deps.ts";

Deno.serve(createCandlesHandler(candlesDeps));
