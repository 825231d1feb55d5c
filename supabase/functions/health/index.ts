import { healthDeps } from "../_shared/health/deps.ts";
import { createHealthHandler } from "../_shared/health/handler.ts";

Deno.serve(createHealthHandler(healthDeps));
