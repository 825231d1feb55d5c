import { requireServiceKey } from "./auth.ts";
import { ConfigError } from "../config/config.ts";
import { errorResponse, HttpError, methodNotAllowed } from "./errors.ts";
import { logEvent } from "../log.ts";

export interface EndpointOptions {
  name: string;
  methods: readonly string[];
  /** "service": the service key (or a secret key) is required; "public": anyone. */
  access: "service" | "public";
  /** Keys accepted for "service" access; read lazily so a missing key fails the request, not the import. */
  keys: () => readonly string[];
}

/**
 * The common front of every function: method, then key, then the handler; every error becomes
 * its HTTP answer in one place (errors.ts) and an unexpected one is logged without internals.
 */
export function endpoint(options: EndpointOptions, handle: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    try {
      if (!options.methods.includes(request.method)) throw methodNotAllowed(options.methods);
      if (options.access === "service") requireServiceKey(request, options.keys());
      return await handle(request);
    } catch (error) {
      const response = errorResponse(error);
      if (response.status >= 500) {
        // A missing setting is named in the log as in the answer (names only, never values).
        const configuration = error instanceof ConfigError || (error instanceof HttpError && error.code === "not_configured") ? { message: (error as Error).message } : {};
        logEvent(`${options.name}.error`, { status: response.status, error: error instanceof Error ? error.name : "unknown", ...configuration }, "error");
      }
      return response;
    }
  };
}
