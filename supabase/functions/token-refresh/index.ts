import { createTokenRefreshHandler } from "../_shared/credentials/handler.ts";
import { tokenRefreshDeps } from "../_shared/credentials/deps.ts";

Deno.serve(createTokenRefreshHandler(tokenRefreshDeps));
