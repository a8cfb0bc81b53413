/**
 * `pnpm --filter @zero-etl/example-zero-downtime-migration demo`: moving a
 * live database to a new PostgreSQL with a cut-over of about a second.
 *
 * 1. the old database has accounts and transfers, and an application keeps writing;
 * 2. `zeroetl run` snapshots into the new database and streams;
 * 3. `zeroetl status --json` is polled until every table is synced and the lag is 0 s;
 * 4. cut-over: the application pauses its writes, the old database turns read-only,
 *    the pipeline catches up to the old database's last position, the data is compared,
 *    and the application resumes on the new database.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { freshPostgresDatabase, heading, postgresServerUrl, repositoryRoot, timed, waitFor, withPostgres, zeroetl } from "@zero-etl/example-harness";
import { startAppWriter } from "./app-writer.js";

const pipeline = "migration_demo";
const slot = `zeroetl_${pipeline}`;
const accounts = Number(process.env.ZETL_DEMO_ACCOUNTS ?? 50_000);
const workDir = join(repositoryRoot, ".zero-etl", "migration");

interface StatusReport {
  caughtUp: boolean;
  run: { lagSeconds?: number } | null;
  checkpoint: { position: string | null } | null;
  logLag: string | null;
  tables: { table: string; state: string; rows: number; lag: string | null }[];
}

async function status(config: string): Promise<StatusReport> {
  const child = zeroetl(["status", config, "--json"], { quiet: true });
  if ((await child.exited) !== 0) throw new Error(`zeroetl status failed: ${child.output()}`);
  return JSON.parse(child.output()) as StatusReport;
}

async function fingerprint(url: string, schema: string): Promise<string[]> {
  return withPostgres(url, async (db) => {
    const out: string[] = [];
    for (const [table, order] of [["accounts", "id"], ["transfers", "id"]] as const) {
      const row = (await db.query<{ n: number; h: string }>(`SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY ${order})) AS h FROM "${schema}".${table} t`)).rows[0];
      out.push(`${table} ${row?.n} rows, md5 ${row?.h}`);
    }
    return out;
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const oldUrl = await freshPostgresDatabase("zeroetl_migrate_old", slot);
  const newUrl = await freshPostgresDatabase("zeroetl_migrate_new");
  await withPostgres(oldUrl, (db) =>
    db.query(`
      CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL, opened date NOT NULL);
      CREATE TABLE transfers (id bigint PRIMARY KEY, from_account bigint NOT NULL REFERENCES accounts, to_account bigint NOT NULL REFERENCES accounts,
                              amount numeric(12,2) NOT NULL, at timestamptz(6) NOT NULL);
      INSERT INTO accounts SELECT g, 'owner ' || g, 1000, date '2020-01-01' + g % 2000 FROM generate_series(1, ${accounts}) g;
      INSERT INTO transfers SELECT g, 1 + g % ${accounts}, 1 + (g * 7) % ${accounts}, (g % 50) + 1, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
        FROM generate_series(1, ${accounts * 2}) g;`),
  );
  console.log(`old database zeroetl_migrate_old: ${accounts.toLocaleString("en")} accounts, ${(accounts * 2).toLocaleString("en")} transfers`);

  // the application, writing to the old database from now on
  const appOld = new pg.Client({ connectionString: oldUrl });
  await appOld.connect();
  const app = startAppWriter(appOld, accounts, accounts * 2 + 1);
  console.log("the application keeps writing: one transaction (a transfer and two balance updates) every 10 ms at most");

  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const config = join(workDir, "pipeline.json");
  await writeFile(
    config,
    JSON.stringify({ name: pipeline, source: { type: "postgres", url: oldUrl }, target: { type: "postgres", url: newUrl, schema: "public" }, state: { dir: join(workDir, "state") }, log: { level: "warn" } }, null, 2),
  );

  heading(`zeroetl run ${config}   (in the background)`);
  const runner = zeroetl(["run", config], { quiet: true });
  process.once("exit", () => runner.kill("SIGTERM"));
  const alive = () => {
    if (runner.exitCode !== null) throw new Error(`zeroetl run ended (${runner.exitCode}): ${runner.output()}`);
  };
  let report: StatusReport | undefined;
  // the table states the sink keeps in the new database (docs/monitoring.md), cheaper to poll than the CLI
  const snapshotSeconds = await waitFor(
    "the snapshot",
    async () => {
      alive();
      const states = await withPostgres(newUrl, async (db) => (await db.query<{ state: string }>(`SELECT state FROM public._zeroetl_table_state WHERE pipeline = $1`, [pipeline])).rows);
      return states.length === 2 && states.every((t) => t.state === "synced");
    },
    300_000,
    100,
  );
  console.log(`snapshot done, streaming: ${snapshotSeconds.toFixed(1)} s (while the application wrote ${app.writes()} transactions)`);

  heading("zeroetl status --json until the lag is zero");
  const zeroLagSeconds = await waitFor(
    "zero lag",
    async () => {
      alive();
      report = await status(config);
      return report.run?.lagSeconds === 0 && report.tables.every((t) => t.state === "synced");
    },
    120_000,
    250,
  );
  for (const t of report?.tables ?? []) console.log(`  ${t.table.padEnd(17)} ${t.state}  ${String(t.rows).padStart(8)} rows applied`);
  console.log(`  lag ${report?.run?.lagSeconds?.toFixed(1)} s, log behind the source: ${report?.logLag} (after ${zeroLagSeconds.toFixed(1)} s more)`);

  heading("cut-over");
  const [finalLsn, pauseSeconds] = await timed(async () => {
    await app.stop();
    await appOld.end();
    return withPostgres(oldUrl, async (db) => {
      // new sessions of the old database can only read; the pipeline's replication connection is not touched
      await db.query(`ALTER DATABASE zeroetl_migrate_old SET default_transaction_read_only = on`);
      return (await db.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0]?.lsn ?? "0/0";
    });
  });
  console.log(`1. writes paused after ${app.writes()} application transactions, old database read-only: ${pauseSeconds.toFixed(2)} s`);
  const catchUpSeconds = await waitFor(
    "the final catch-up",
    async () => {
      alive();
      return withPostgres(newUrl, async (db) => (await db.query<{ done: boolean }>(`SELECT (checkpoint->>'position')::pg_lsn >= $1::pg_lsn AS done FROM public._zeroetl_checkpoints WHERE pipeline = $2`, [finalLsn, pipeline])).rows[0]?.done === true);
    },
    60_000,
  );
  console.log(`2. final catch-up to the old database's last position ${finalLsn}: ${catchUpSeconds.toFixed(2)} s`);
  const [[before, after], compareSeconds] = await timed(() => Promise.all([fingerprint(oldUrl, "public"), fingerprint(newUrl, "public")]));
  const same = before.join() === after.join();
  console.log(`3. compared (row counts and an md5 over every row): ${same ? "identical" : "DIFFERENT"}, ${compareSeconds.toFixed(2)} s`);
  for (const [i, line] of before.entries()) console.log(`     old ${line}\n     new ${after[i]}`);
  runner.kill("SIGTERM");
  const code = await runner.exited;
  const [, switchSeconds] = await timed(async () => {
    await withPostgres(newUrl, async (db) => {
      await db.query(`INSERT INTO transfers VALUES ($1, 1, 2, 5.00, now())`, [accounts * 3 + app.writes() + 1]);
    });
  });
  console.log(`4. pipeline stopped (exit code ${code}); the application writes to the new database: ${switchSeconds.toFixed(2)} s`);
  console.log(`\nwrites were paused for ${(pauseSeconds + catchUpSeconds + compareSeconds + switchSeconds).toFixed(2)} s in all; the whole migration took ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // the old database is retired: its replication slot must not keep WAL on the server
  await withPostgres(postgresServerUrl, (admin) => admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]));
  if (!same || code !== 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
