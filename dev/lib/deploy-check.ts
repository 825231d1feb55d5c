import { BUNDLE_LIMIT_BYTES, bootFunction, cacheFunction, checkFunction, functionsToDeploy, npmPackageSizes, type Stage } from "./deploy-stage.ts";

export interface FunctionReport {
  name: string;
  cached: boolean;
  checked: boolean;
  error?: string;
  npmBytes: number;
  npmPackages: number;
  bootMs?: number;
  firstAnswer?: { status: number; body: string };
}

/** The request each function must answer after booting from the staged copy, without a key. */
export function firstRequest(name: string): { method: string; expectStatus: number } {
  return name === "health" ? { method: "GET", expectStatus: -1 } : { method: "POST", expectStatus: 401 };
}

/**
 * For every function of the stage: `deno cache` and `deno check` with only its own deno.json and
 * lock (frozen), the npm packages it resolves and their size, then one boot and one request.
 */
export async function checkDeployUpload(stage: Stage, options: { env: Record<string, string>; port: () => Promise<number> }): Promise<FunctionReport[]> {
  const reports: FunctionReport[] = [];
  for (const name of functionsToDeploy(stage)) {
    const report: FunctionReport = { name, cached: false, checked: false, npmBytes: 0, npmPackages: 0 };
    reports.push(report);
    const cached = cacheFunction(stage, name);
    report.cached = cached.status === 0;
    if (!report.cached) {
      report.error = cached.stderr.trim().split("\n").slice(0, 3).join(" ");
      continue;
    }
    const checked = checkFunction(stage, name);
    report.checked = checked.status === 0;
    if (!report.checked) {
      report.error = checked.stderr.trim().split("\n").slice(0, 3).join(" ");
      continue;
    }
    const sizes = npmPackageSizes(stage, name);
    report.npmBytes = sizes.reduce((sum, p) => sum + p.bytes, 0);
    report.npmPackages = sizes.length;
    const booted = await bootFunction(stage, name, await options.port(), options.env);
    try {
      report.bootMs = booted.bootMs;
      const response = await fetch(booted.url, { method: firstRequest(name).method, headers: { "Content-Type": "application/json" }, body: name === "health" ? undefined : "{}" });
      report.firstAnswer = { status: response.status, body: await response.text() };
    } finally {
      await booted.stop();
    }
  }
  return reports;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);

export function renderReport(reports: FunctionReport[], denoVersion: string): string {
  const lines = [
    `deploy-shaped check under deno ${denoVersion} (bundle limit ${mb(BUNDLE_LIMIT_BYTES)} MB)`,
    "| function | deno cache + check | npm packages | npm size (MB) | of limit | boot (ms) | first answer |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of reports) {
    const answer = r.firstAnswer ? `${r.firstAnswer.status} ${r.firstAnswer.body.slice(0, 60)}` : (r.error ?? "-");
    lines.push(`| ${r.name} | ${r.checked ? "ok" : "FAILED"} | ${r.npmPackages} | ${mb(r.npmBytes)} | ${((r.npmBytes / BUNDLE_LIMIT_BYTES) * 100).toFixed(1)} % | ${r.bootMs ?? "-"} | ${answer.replace(/\|/g, "\\|")} |`);
  }
  return lines.join("\n");
}
