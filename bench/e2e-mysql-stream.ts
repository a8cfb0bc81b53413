/**
 * Streaming end to end through MariaDB, as a user runs it: the CLI
 * (`zeroetl run --until-caught-up`, process start included) catching up on
 * 300,000 row changes in 100 transactions — one UPDATE of 100,000 rows,
 * then 99 transactions inserting 200,000 rows — MariaDB -> PostgreSQL,
 * against `mariadb-binlog -v` decoding the same binlog range to /dev/null.
 * The target is compared with the source by SQL afterwards.
 *
 * Run: node --conditions=zero-etl-source --import tsx bench/e2e-mysql-stream.ts
 * (ZETL_BENCH_QUICK=1: a tenth of the rows.) Ends with
 * `RATIO e2e-mysql-stream <reference seconds / our seconds>`.
 */
import { writeConfig } from "../test-support/cli.js";
import { createTestMysqlDatabase } from "../test-support/mysql.js";
import { createTestDatabase } from "../test-support/postgres.js";
import { QUICK, loadAverage, stageLines, timedBaseCli, timedCli, timedTool } from "./lib/bench-cli.js";

const SCALE = QUICK ? 10 : 1;
const UPDATED = 100_000 / SCALE;
const INSERTED = 200_000 / SCALE;
const INSERT_TRANSACTIONS = 99;

const source = await createTestMysqlDatabase("bench_e2e_my");
const target = await createTestDatabase("bench_e2e_my_dst");
const status = async (): Promise<{ file: string; position: number }> => {
  const rows = (await source.query("SHOW MASTER STATUS")) as { File: string; Position: number }[];
  const row = rows[0];
  if (row === undefined) throw new Error("binlog is off");
  return { file: row.File, position: Number(row.Position) };
};
try {
  await source.query("CREATE TABLE bench (id BIGINT PRIMARY KEY, qty INT NOT NULL, name VARCHAR(100), price DECIMAL(12,2), at DATETIME(6))");
  await source.query(
    `INSERT INTO bench SELECT seq, seq % 1000, CONCAT('customer-', seq), (seq % 100000) / 100, '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_${UPDATED}`,
  );
  const name = `e2emy_${Math.random().toString(36).slice(2, 8)}`;
  const { file } = await writeConfig({ name, source: { type: "mysql", url: source.url }, target: { type: "postgres", url: target.url, schema: "dw" }, log: { level: "info" } });
  const idle = await timedCli(["run", file, "--until-caught-up"]);
  console.log(`snapshot of ${UPDATED} rows (not timed against anything): ${idle.seconds.toFixed(1)} s`);

  const start = await status();
  await source.query("UPDATE bench SET qty = qty + 1, name = CONCAT(name, '-u'), at = at + INTERVAL 1 DAY");
  const per = Math.ceil(INSERTED / INSERT_TRANSACTIONS);
  for (let t = 0; t < INSERT_TRANSACTIONS; t++) {
    const from = UPDATED + 1 + t * per;
    const to = Math.min(UPDATED + INSERTED, from + per - 1);
    await source.query(`INSERT INTO bench SELECT seq, seq % 1000, CONCAT('customer-', seq), (seq % 100000) / 100, '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_${from}_to_${to}`);
  }
  const end = await status();
  if (end.file !== start.file) throw new Error("the binlog rotated during the changes; run again");
  const changes = UPDATED + INSERTED;

  const load = await loadAverage();
  const ours = await timedCli(["run", file, "--until-caught-up"]);
  const base = new URL(process.env.ZETL_MYSQL_URL ?? "mysql://root@127.0.0.1:53306/");
  const reference = await timedTool("mariadb-binlog", [
    "--no-defaults", "-v", "--base64-output=DECODE-ROWS", "-R", `-h${base.hostname}`, `-P${base.port || "3306"}`, `-u${decodeURIComponent(base.username) || "root"}`,
    `--start-position=${start.position}`, `--stop-position=${end.position}`, start.file,
  ]);
  const startup = await timedCli(["run", file, "--until-caught-up"]);
  // A/B of the fixed cost in the same minutes (ZETL_BENCH_BASE_CLI): an older build's run with nothing to do, alternating with ours
  const baseIdle = await timedBaseCli(["run", file, "--until-caught-up"]);
  const idleAgain = baseIdle === undefined ? undefined : await timedCli(["run", file, "--until-caught-up"]);
  const baseIdleAgain = baseIdle === undefined ? undefined : await timedBaseCli(["run", file, "--until-caught-up"]);

  const a = ((await source.query("SELECT count(*) AS n, sum(qty) AS q, sum(price) AS p, sum(length(name)) AS l FROM bench")) as { n: number | string; q: string; p: string; l: string }[])[0];
  const b = (await target.query("SELECT count(*)::int AS n, sum(qty)::text AS q, sum(price)::text AS p, sum(length(name))::text AS l FROM dw.bench")).rows[0];
  if (Number(a?.n) !== b?.n || String(a?.q) !== b?.q || String(a?.p) !== b?.p || String(a?.l) !== b?.l) throw new Error(`target differs from the source: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);

  console.log(`load average: ${load}`);
  console.log(`ours (zeroetl run --until-caught-up, process start included): ${ours.seconds.toFixed(2)} s = ${Math.round(changes / ours.seconds)} changes/s`);
  for (const line of stageLines(ours.stdout + ours.stderr)) console.log(line);
  console.log(`  of which a run with nothing to do takes ${startup.seconds.toFixed(2)} s (process start, connect, introspect)`);
  if (baseIdle !== undefined && idleAgain !== undefined && baseIdleAgain !== undefined) {
    console.log(`  a run with nothing to do, alternating: base build ${baseIdle.toFixed(2)} s, this build ${idleAgain.seconds.toFixed(2)} s, base build ${baseIdleAgain.toFixed(2)} s`);
  }
  console.log(`mariadb-binlog -v (decode the same binlog to /dev/null): ${reference.toFixed(2)} s = ${Math.round(changes / reference)} changes/s`);
  console.log(`target matches the source (${b?.n} rows)`);
  console.log(`RATIO e2e-mysql-stream ${(reference / ours.seconds).toFixed(3)}`);
} finally {
  await source.drop();
  await target.drop();
}
