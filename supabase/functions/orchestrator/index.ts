import { orchestratorDeps } from "../_shared/orchestrator/deps.ts";
import { createOrchestratorHandler } from "../_shared/orchestrator/handler.ts";

Deno.serve(createOrchestratorHandler(orchestratorDeps));
