import type { z } from "zod";
import { SourceConfigError } from "./types.ts";

/** Parses `sources.config` with a kind's schema; the error names the source and every bad key. */
export function parseSourceConfig<S extends z.ZodType>(schema: S, source: { name: string; kind: string; config: unknown }): z.infer<S> {
  const parsed = schema.safeParse(source.config ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(config)"}: ${issue.message}`);
  throw new SourceConfigError(`config of ${source.kind} source ${source.name}: ${problems.join("; ")}`);
}
