/**
 * Streaming end to end, as a user runs it: the CLI (`zeroetl run
 * --until-caught-up`, process start included) catching up on 300,000 row
 * changes in 100 transactions — one UPDATE of 100,000 rows, then 99
 * transactions inserting 200,000 rows — PostgreSQL -> PostgreSQL, against
 * `pg_recvlogical` draining the same WAL from its own pgoutput slot to
 * /dev/null (reading only: no decoding into values, no apply). The table is
 * bigint key, int, text, numeric, timestamptz (~60 B a row). The target is
 * compared with the source by SQL afterwards.
 *
 * Run: node --conditions=zero-etl-source --import tsx bench/e2e-stream.ts
 * (ZETL_BENCH_QUICK=1: a tenth of the rows.) Ends with
 * `RATIO e2e-stream <reference seconds / our seconds>`.
 */
import pg from "pg";
import { writeConfig } from "../test-support/cli.js";
import { createTestDatabase } from "../test-support/postgres.js";
import { QUICK, loadAverage, stageLines, timedBaseCli, timedCli, timedTool } from "./lib/bench-cli.js";

const SCALE = QUICK ? 10 : 1;
const UPDATED = 100_000 / SCALE;
const INSERTED = 200_000 / SCALE;
const INSERT_TRANSACTIONS = 99;
const RECVLOGICAL = process.env.PG_RECVLOGICAL ?? "/usr/lib/postgresql/15/bin/pg_recvlogical";

const source = await createTestDatabase("bench_e2e_src");
const target = await createTestDatabase("bench_e2e_dst");
try {
  await source.query("CREATE TABLE bench (id int8 PRIMARY KEY, qty int4 NOT NULL, name text, price numeric(12,2), at timestamptz)");
  await source.query(
    `INSERT INTO bench SELECT g, g % 1000, 'customer-' || g, (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, $1::int) g`,
    [UPDATED],
  );
  const name = `e2e_${Math.random().toString(36).slice(2, 8)}`;
  const { file } = await writeConfig({ name, source: { type: "postgres", url: source.url }, target: { type: "postgres", url: target.url, schema: "dw" }, log: { level: "info" } });
  await timedCli(["check", file, "--fix"]);
  const idle = await timedCli(["run", file, "--until-caught-up"]);
  console.log(`snapshot of ${UPDATED} rows (not timed against anything): ${idle.seconds.toFixed(1)} s`);
  const publication = (await source.query<{ pubname: string }>("SELECT pubname FROM pg_publication")).rows[0]?.pubname;
  if (publication === undefined) throw new Error("the CLI created no publication");
  const refSlot = `ref_${name}`;
  await source.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [refSlot]);

  const t0 = performance.now();
  await source.query("UPDATE bench SET qty = qty + 1, name = name || '-u', at = at + interval '1 day'");
  const per = Math.ceil(INSERTED / INSERT_TRANSACTIONS);
  for (let t = 0; t < INSERT_TRANSACTIONS; t++) {
    const from = UPDATED + 1 + t * per;
    const to = Math.min(UPDATED + INSERTED, from + per - 1);
    await source.query(
      `INSERT INTO bench SELECT g, g % 1000, 'customer-' || g, (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series($1::int, $2::int) g`,
      [from, to],
    );
  }
  const endpos = (await source.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn ?? "0/0";
  const changes = UPDATED + INSERTED;
  console.log(`source: ${changes} changes in ${INSERT_TRANSACTIONS + 1} transactions written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const load = await loadAverage();
  const ours = await timedCli(["run", file, "--until-caught-up"]);
  const reference = await timedTool(RECVLOGICAL, [
    "-d", source.url, "--slot", refSlot, "--start", `--endpos=${endpos}`, "-o", "proto_version=1", "-o", `publication_names=${publication}`, "-f", "/dev/null", "--no-loop",
  ]);
  const startup = await timedCli(["run", file, "--until-caught-up"]);
  // A/B of the fixed cost in the same minutes (ZETL_BENCH_BASE_CLI): an older build's run with nothing to do, alternating with ours
  const baseIdle = await timedBaseCli(["run", file, "--until-caught-up"]);
  const idleAgain = baseIdle === undefined ? undefined : await timedCli(["run", file, "--until-caught-up"]);
  const baseIdleAgain = baseIdle === undefined ? undefined : await timedBaseCli(["run", file, "--until-caught-up"]);

  const digest = "SELECT count(*)::int AS n, md5(string_agg(id || ',' || qty || ',' || coalesce(name, '') || ',' || coalesce(price::text, '') || ',' || coalesce(extract(epoch FROM at)::text, ''), ';' ORDER BY id)) AS h FROM ";
  const a = (await source.query(`${digest} bench`)).rows[0];
  const b = (await target.query(`${digest} dw.bench`)).rows[0];
  if (a?.n !== b?.n || a?.h !== b?.h) throw new Error(`target differs from the source: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);

  console.log(`load average: ${load}`);
  console.log(`ours (zeroetl run --until-caught-up, process start included): ${ours.seconds.toFixed(2)} s = ${Math.round(changes / ours.seconds)} changes/s`);
  for (const line of stageLines(ours.stdout + ours.stderr)) console.log(line);
  console.log(`  of which a run with nothing to do takes ${startup.seconds.toFixed(2)} s (process start, connect, introspect)`);
  if (baseIdle !== undefined && idleAgain !== undefined && baseIdleAgain !== undefined) {
    console.log(`  a run with nothing to do, alternating: base build ${baseIdle.toFixed(2)} s, this build ${idleAgain.seconds.toFixed(2)} s, base build ${baseIdleAgain.toFixed(2)} s`);
  }
  console.log(`pg_recvlogical (drain the same WAL to /dev/null): ${reference.toFixed(2)} s = ${Math.round(changes / reference)} changes/s`);
  console.log(`target matches the source (${b?.n} rows, md5 ${b?.h})`);
  console.log(`RATIO e2e-stream ${(reference / ours.seconds).toFixed(3)}`);
} finally {
  await source.drop();
  await target.drop();
}
