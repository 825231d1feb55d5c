import { createTrackerHandler } from "../_shared/tracker/handler.ts";
import { trackerDeps } from "../_shared/tracker/deps.ts";

Deno.serve(createTrackerHandler(trackerDeps));
