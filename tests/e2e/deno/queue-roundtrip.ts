// Runs under the deno binary: the same _shared modules the edge functions import, against a real database.
import { readEnv, runtimeName } from "../../../supabase/functions/_shared/config/env.ts";
import { createSql } from "../../../supabase/functions/_shared/db/client.ts";
import { readBacklog } from "../../../supabase/functions/_shared/queue/backlog.ts";
import { claim } from "../../../supabase/functions/_shared/queue/claim.ts";
import { complete } from "../../../supabase/functions/_shared/queue/complete.ts";
import { recordRun } from "../../../supabase/functions/_shared/runs/record.ts";

const url = readEnv("SUPABASE_DB_URL");
if (!url) throw new Error("SUPABASE_DB_URL is not set");
const sql = createSql(url, { max: 1, applicationName: "peakwatch-deno-check" });
try {
  const result = await recordRun(sql, "tracker", "test", async () => {
    await sql`insert into peakwatch.tokens (chain, address) values ('solana', 'DenoMint1'), ('solana', 'DenoMint2')`;
    const before = await readBacklog(sql);
    const claimed = await claim(sql, { worker: "deno", limit: 10, leaseSeconds: 60 });
    const completed = await complete(sql, "deno", claimed.map((row) => row.token_id));
    const after = await readBacklog(sql);
    return {
      counts: { claimed: claimed.length, completed },
      dueBefore: before.due_count,
      dueAfter: after.due_count,
      idType: typeof claimed[0]?.token_id,
    };
  });
  console.log(JSON.stringify({ runtime: runtimeName(), ...result }));
} finally {
  await sql.end();
}
