import postgres from "postgres";

const MIN_PLAN_MS = 0.05;
const PLAN_LINE = /^\s*(->|Update|Limit|LockRows|Index|Bitmap|Seq Scan|Nested Loop|Hash|Merge|Append|Subquery|CTE|Function Scan|Sort|Planning|Execution|Buffers|Query Text)/;

/**
 * EXPLAIN ANALYZE of one claim(n) and one complete(ids) on a queue of `items` due rows. The SQL
 * functions are plpgsql, so a plain EXPLAIN shows only "Function Scan"; auto_explain with nested
 * statements logs each inner statement's plan, and client_min_messages = log sends those lines to
 * this connection. Needs a superuser (the admin URL's role) to LOAD auto_explain.
 */
export async function explainClaimComplete(url: string, items: number, batch: number): Promise<string[]> {
  const notices: string[] = [];
  const sql = postgres(url, { max: 1, onnotice: (notice) => notices.push(String(notice.message)) });
  try {
    await sql`insert into peakwatch.tokens (chain, address) select 'solana', 'explain-' || g from generate_series(1, ${items}::int) g`;
    await sql`vacuum analyze peakwatch.tokens, peakwatch.queue`;
    await sql.unsafe(`
      load 'auto_explain';
      set auto_explain.log_min_duration = 0;
      set auto_explain.log_analyze = on;
      set auto_explain.log_buffers = on;
      set auto_explain.log_timing = on;
      set auto_explain.log_nested_statements = on;
      set client_min_messages = log`);
    const lines: string[] = [];
    const capture = async (label: string, run: () => Promise<unknown>) => {
      notices.length = 0;
      const started = performance.now();
      await run();
      const ms = performance.now() - started;
      lines.push(`${label}: round trip ${ms.toFixed(2)} ms (with auto_explain's own overhead)`);
      for (const notice of notices) {
        // Per-row helper calls (refresh_interval, check_worker) are microseconds each; the plans that matter are the statements.
        const duration = Number(/duration: ([\d.]+) ms/.exec(notice)?.[1] ?? "0");
        if (duration < MIN_PLAN_MS) continue;
        for (const line of notice.split("\n")) {
          if (PLAN_LINE.test(line) || line.startsWith("duration")) lines.push(`    ${line.trimEnd().replace(/'\{[^}]{60,}\}'/, "'{…}'")}`);
        }
      }
    };
    let ids: number[] = [];
    await capture(`claim(n=${batch}) on ${items.toLocaleString("en-US")} due rows`, async () => {
      const rows = await sql<{ token_id: string }[]>`select token_id from peakwatch.claim('explain', ${batch}::int, interval '300 seconds', null, false)`;
      ids = rows.map((row) => Number(row.token_id));
    });
    await capture(`complete(${ids.length} ids)`, () => sql`select peakwatch.complete('explain', ${ids}::bigint[])`);
    return lines;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
