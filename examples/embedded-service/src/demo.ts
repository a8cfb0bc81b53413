/**
 * `pnpm --filter @zero-etl/example-embedded-service demo`: runs the service
 * (src/main.ts) against the local PostgreSQL as a separate process, the
 * way a platform would, and shows what an operator sees:
 *
 * 1. a source database with customers and orders;
 * 2. the service starts; /healthz turns 200 once the snapshot is checkpointed;
 * 3. live changes, then a few lines of /metrics;
 * 4. SIGTERM: exit code 0, and the checkpoint in the target covers the last change.
 */
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { freshPostgresDatabase, heading, postgresServerUrl, repositoryRoot, timed, waitFor, withPostgres } from "@zero-etl/example-harness";

const pipeline = "embedded_demo";
const orders = Number(process.env.ZETL_DEMO_ORDERS ?? 20_000);
const stateDir = join(repositoryRoot, ".zero-etl", "embedded-service");

async function main(): Promise<void> {
  const sourceUrl = await freshPostgresDatabase("zeroetl_embedded_app", `zeroetl_${pipeline}`);
  const targetUrl = await freshPostgresDatabase("zeroetl_embedded_replica");
  await rm(stateDir, { recursive: true, force: true });
  await withPostgres(sourceUrl, (db) =>
    db.query(`
      CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, since date NOT NULL);
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, total numeric(12,2) NOT NULL, status text NOT NULL);
      INSERT INTO customers SELECT g, 'c' || g || '@example.com', date '2026-01-01' + g % 300 FROM generate_series(1, ${Math.max(1, orders / 10)}) g;
      INSERT INTO orders SELECT g, 1 + g % ${Math.max(1, orders / 10)}, (g % 1000) * 0.99, 'paid' FROM generate_series(1, ${orders}) g;`),
  );
  console.log(`source: ${orders.toLocaleString("en")} orders, ${(orders / 10).toLocaleString("en")} customers in zeroetl_embedded_app`);

  heading("start the service (src/main.ts)");
  const service = spawn(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(repositoryRoot, "examples/embedded-service/src/main.ts")], {
    cwd: repositoryRoot,
    env: { ...process.env, SOURCE_URL: sourceUrl, TARGET_URL: targetUrl, PIPELINE: pipeline, STATE_DIR: stateDir, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.once("exit", () => service.kill("SIGTERM"));
  let output = "";
  service.stdout.on("data", (d: Buffer) => {
    output += d.toString();
    for (const line of d.toString().split("\n")) if (line !== "") console.log(`  service| ${line}`);
  });
  const exited = new Promise<number | null>((done) => service.on("exit", (code) => done(code)));
  let base = "";
  await waitFor("the service to listen", async () => {
    base = /listening on (http:\/\/[\d.:]+)/.exec(output)?.[1] ?? "";
    return base !== "";
  });
  let health = "";
  const synced = await waitFor(
    "/healthz 200 with every table synced",
    async () => {
      const response = await fetch(`${base}/healthz`);
      health = await response.text();
      const body = JSON.parse(health) as { tables: Record<string, { state: string }> };
      return response.status === 200 && Object.keys(body.tables).length === 2 && Object.values(body.tables).every((t) => t.state === "synced");
    },
    120_000,
  );
  console.log(`GET /healthz -> 200, snapshot done after ${synced.toFixed(1)} s: ${health.trim()}`);

  heading("live changes at the source");
  const lastChangeLsn = await withPostgres(sourceUrl, async (db) => {
    await db.query(`INSERT INTO orders VALUES (${orders + 1}, 1, 42.00, 'new'), (${orders + 2}, 2, 17.50, 'new')`);
    await db.query(`UPDATE orders SET status = 'shipped' WHERE id <= 5`);
    await db.query("BEGIN");
    await db.query(`DELETE FROM orders WHERE id = 6`);
    // an LSN inside the last transaction: a checkpoint covering the change is past it
    const lsn = (await db.query<{ lsn: string }>(`SELECT pg_current_wal_insert_lsn()::text AS lsn`)).rows[0]?.lsn ?? "0/0";
    await db.query("COMMIT");
    return lsn;
  });
  const [, seconds] = await timed(() =>
    waitFor("the changes in the replica", () =>
      withPostgres(targetUrl, async (db) => (await db.query(`SELECT count(*)::int AS n FROM replica.orders WHERE status = 'shipped' OR id = 6`)).rows[0]?.n === 5),
    ),
  );
  console.log(`2 inserts, 5 updates, 1 delete visible in the replica after ${seconds.toFixed(2)} s`);

  heading("GET /metrics (excerpt)");
  await waitFor("the changes in /metrics", async () => /operation="delete"\} 1/.test(await (await fetch(`${base}/metrics`)).text()));
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const line of text.split("\n")) {
    if (/^zeroetl_(rows_total|lag_seconds|checkpoint_age_seconds|table_state\{.*state="synced"|dead_letters_total)/.test(line)) console.log(`  ${line}`);
  }

  heading("SIGTERM");
  service.kill("SIGTERM");
  const code = await exited;
  console.log(`service exited with code ${code}`);
  const checkpoint = await withPostgres(targetUrl, async (db) => {
    const row = (await db.query<{ position: string; covers: boolean }>(
      `SELECT checkpoint->>'position' AS position, (checkpoint->>'position')::pg_lsn >= $2::pg_lsn AS covers FROM replica._zeroetl_checkpoints WHERE pipeline = $1`,
      [pipeline, lastChangeLsn],
    )).rows[0];
    return row;
  });
  console.log(`checkpoint in the replica: ${checkpoint?.position ?? "none"}, covers the last change (${lastChangeLsn}): ${checkpoint?.covers === true ? "yes" : "NO"}`);
  const counts = await withPostgres(sourceUrl, (s) =>
    withPostgres(targetUrl, async (t) => {
      const lines: string[] = [];
      for (const table of ["customers", "orders"]) {
        const a = (await s.query(`SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY id)) AS h FROM ${table} t`)).rows[0];
        const b = (await t.query(`SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY id)) AS h FROM replica.${table} t`)).rows[0];
        lines.push(`  ${table.padEnd(10)} source ${String(a?.n).padStart(6)}  replica ${String(b?.n).padStart(6)}  ${a?.h === b?.h ? "identical" : "DIFFERENT"}`);
      }
      return lines;
    }),
  );
  console.log(`\n${counts.join("\n")}`);
  // a demo's pipeline is not started again: its replication slot must not keep WAL on the server
  await withPostgres(postgresServerUrl, (admin) => admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [`zeroetl_${pipeline}`]));
  if (code !== 0 || checkpoint?.covers !== true || counts.some((l) => l.includes("DIFFERENT"))) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
