/**
 * The fault drill's timing and grading, free of any service: how a class's measurements are judged
 * against issue 13's bar, how the clean stretch's samples are counted, and how it all prints.
 */
import type { HealthView } from "./outage-lib.ts";

/** Issue 13's bar: non-pass within 2 minutes of onset, back to pass within 3 minutes of the fix. */
export const DETECT_BAR_MS = 120_000;
export const RECOVER_BAR_MS = 180_000;

export const FAULT_CLASS_IDS = [
  "tracker-stopped",
  "poller-stopped",
  "inputs-without-outputs",
  "schema-drift",
  "cron-unauthorized",
  "backlog-flood",
  "copycat-tickers",
  "silent-source",
  "expiring-credential",
] as const;
export type FaultClassId = (typeof FAULT_CLASS_IDS)[number];

/**
 * What a class waits for. `status`: the document's status leaves pass because of one of the
 * readings the fault should trip (`name` or `name#component` prefixes; an unrelated reading going
 * non-pass at the same time is not this fault's detection), and comes back to pass. `reading`: an
 * informational reading (copycats) that by design never changes the status: the drill times the
 * reading itself, and checks that the status stayed pass meanwhile.
 */
export type Watch = { kind: "status"; readings: string[] } | { kind: "reading"; name: string };

/** Readings are named `check` or `check#component`; a prefix names a check, a family (`queue:overdue`) or one component. */
const matches = (reading: string, prefix: string) => reading.startsWith(prefix);

/** Whether a health view counts as tripped for this class (null: health did not answer, which counts as non-pass). */
export function tripped(watch: Watch, view: HealthView | null): boolean {
  if (view === null) return watch.kind === "status";
  if (watch.kind === "status") return view.status !== "pass" && view.nonPass.some((reading) => watch.readings.some((prefix) => matches(reading, prefix)));
  return view.nonPass.some((reading) => matches(reading, watch.name));
}

export interface ClassResult {
  id: FaultClassId;
  title: string;
  watch: Watch;
  /** ms from onset to the first tripped view; null if never within the watch. */
  detectMs: number | null;
  /** Readings that were not pass at detection. */
  tripped: string[];
  /** ms from the fix to the first view that is no longer tripped (and, for status classes, pass). */
  recoverMs: number | null;
  /** Non-pass readings still there when the recovery watch gave up. */
  stillNonPass: string[];
  /** Informational classes: status views seen other than pass while the fault was on. */
  statusChanged: boolean;
  /** Health was not pass before the onset (after waiting for it): the measurement is not clean. */
  baselineNonPass: string[];
  skipped?: string;
}

export type Verdict = "met" | "MISSED" | "skipped";

export function verdict(result: ClassResult): Verdict {
  if (result.skipped) return "skipped";
  const detected = result.detectMs !== null && result.detectMs <= DETECT_BAR_MS;
  const recovered = result.recoverMs !== null && result.recoverMs <= RECOVER_BAR_MS;
  const informationalKept = result.watch.kind === "status" || !result.statusChanged;
  return detected && recovered && informationalKept && result.baselineNonPass.length === 0 ? "met" : "MISSED";
}

export interface CleanSample {
  atMs: number;
  view: HealthView | null;
}

export interface CleanResult {
  minutes: number;
  samples: number;
  nonPass: Array<{ at: string; status: string; readings: string[] }>;
}

/** The clean stretch: every sample that was not pass is a false alarm (an unanswered health too). */
export function countFalseAlarms(samples: CleanSample[], minutes: number, startedAt: number): CleanResult {
  const nonPass = samples
    .filter((sample) => sample.view === null || sample.view.status !== "pass")
    .map((sample) => ({
      at: new Date(startedAt + sample.atMs).toISOString(),
      status: sample.view?.status ?? "unreachable",
      readings: sample.view?.nonPass ?? ["health did not answer"],
    }));
  return { minutes, samples: samples.length, nonPass };
}

const seconds = (ms: number | null) => (ms === null ? "never" : `${Math.round(ms / 1000)} s`);

/** One row per class, in a fixed-width table. */
export function table(results: ClassResult[]): string {
  const header = ["fault class", "non-pass after", "pass after fix", "bar", "what showed it"];
  const rows = results.map((r) => {
    if (r.skipped) return [r.id, "-", "-", "skipped", r.skipped];
    const informational = r.watch.kind === "reading"
      ? `${r.watch.name} (informational: status ${r.statusChanged ? "CHANGED" : "stayed pass"})`
      : r.tripped.join(", ");
    const note = r.baselineNonPass.length > 0 ? `; not pass before onset: ${r.baselineNonPass.join(", ")}` : "";
    const still = r.stillNonPass.length > 0 ? `; still non-pass: ${r.stillNonPass.join(", ")}` : "";
    return [r.id, seconds(r.detectMs), seconds(r.recoverMs), verdict(r), informational + note + still];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function summary(results: ClassResult[], clean: CleanResult | null, extra: Record<string, unknown> = {}) {
  const missed = results.filter((r) => verdict(r) === "MISSED").map((r) => r.id);
  const falseAlarms = clean?.nonPass.length ?? 0;
  return {
    event: "drill.faults",
    bar: { detectSeconds: DETECT_BAR_MS / 1000, recoverSeconds: RECOVER_BAR_MS / 1000, falseAlarms: 0 },
    classes: results.map((r) => ({
      id: r.id,
      watch: r.watch.kind === "status" ? "status" : `reading ${r.watch.name} (informational)`,
      detectSeconds: r.detectMs === null ? null : Math.round(r.detectMs / 1000),
      recoverSeconds: r.recoverMs === null ? null : Math.round(r.recoverMs / 1000),
      tripped: r.tripped,
      verdict: verdict(r),
      ...(r.skipped ? { skipped: r.skipped } : {}),
      ...(r.baselineNonPass.length ? { baselineNonPass: r.baselineNonPass } : {}),
      ...(r.stillNonPass.length ? { stillNonPass: r.stillNonPass } : {}),
      ...(r.watch.kind === "reading" ? { statusChanged: r.statusChanged } : {}),
    })),
    clean: clean && { minutes: clean.minutes, samples: clean.samples, falseAlarms, nonPass: clean.nonPass },
    ...extra,
    met: missed.length === 0 && falseAlarms === 0,
    missed,
  };
}

/** `--only a,b`: known class ids, in the drill's order. */
export function selectClasses(only: string | undefined): FaultClassId[] {
  if (!only) return [...FAULT_CLASS_IDS];
  const wanted = only.split(",").map((id) => id.trim()).filter(Boolean);
  const unknown = wanted.filter((id) => !(FAULT_CLASS_IDS as readonly string[]).includes(id));
  if (unknown.length > 0) throw new Error(`--only: unknown fault class ${unknown.join(", ")}; known: ${FAULT_CLASS_IDS.join(", ")}`);
  return FAULT_CLASS_IDS.filter((id) => wanted.includes(id));
}
