// The one place that knows which runtime it is in: Deno on the edge, Node under vitest and dev tools.
interface DenoEnv {
  env: { get(name: string): string | undefined; toObject(): Record<string, string> };
}

const deno = (globalThis as { Deno?: DenoEnv }).Deno;

export function readEnv(name: string): string | undefined {
  if (deno) return deno.env.get(name);
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
}

export function envSnapshot(): Record<string, string | undefined> {
  if (deno) return deno.env.toObject();
  return { ...(globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env };
}

export const runtimeName = (): "deno" | "node" => (deno ? "deno" : "node");
