import { createPollerHandler } from "../_shared/poller/handler.ts";
import { pollerDeps } from "../_shared/poller/deps.ts";

Deno.serve(createPollerHandler(pollerDeps));
