import { logEvent } from "../log.ts";

/** Postgres chose this statement as a deadlock's victim (SQLSTATE 40P01) and rolled it back. */
export const isDeadlock = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === "40P01";

/**
 * Runs a statement that is its own transaction once more when Postgres breaks a deadlock by
 * aborting it: the other side has gone on, nothing of ours was committed, so the same call again is
 * safe. A tracker writing its checks and the poller ingesting calls for the same tokens at the same
 * cron tick deadlocked now and then; each was a failed run, and a health warning for a minute.
 * Every retry is logged; the third deadlock in a row is thrown as before.
 */
export async function retryOnDeadlock<T>(what: string, work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isDeadlock(error) || attempt >= attempts) throw error;
      logEvent("db.deadlock_retried", { statement: what, attempt }, "warn");
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.floor(Math.random() * 50)));
    }
  }
}
