/**
 * One huge transaction, end to end: a single `INSERT … SELECT
 * generate_series` of 1,000,000 rows × 5 columns at the source, replicated
 * PostgreSQL -> PostgreSQL by `runPipeline` in a child process (source
 * decode, runtime batching, sink apply and commit, all of it), against
 * `pg_recvlogical` draining the same transaction from an identical pgoutput
 * slot to /dev/null (no decoding, no apply: the floor for reading the slot).
 * Prints both rates and the child's peak RSS (`process.resourceUsage().maxRSS`).
 *
 * Run: node --conditions=zero-etl-source --import tsx bench/big-tx.ts
 * (ZETL_BENCH_ROWS overrides the row count.)
 */
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const BASE_URL = process.env.ZETL_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";
const ROWS = Number(process.env.ZETL_BENCH_ROWS ?? 1_000_000);
const RECVLOGICAL = process.env.PG_RECVLOGICAL ?? "/usr/lib/postgresql/15/bin/pg_recvlogical";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tag = Math.random().toString(36).slice(2, 8);
const pipeline = `bigtx_${tag}`;
const names = { source: `zetl_bench_bigtx_src_${tag}`, target: `zetl_bench_bigtx_dst_${tag}` };

const withDatabase = (database: string): string => {
  const url = new URL(BASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
};

interface ChildResult {
  readonly rows: number;
  readonly ms: number;
  readonly maxRssKb: number;
}

function runOurs(): Promise<ChildResult & { wallMs: number }> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(root, "packages/sinks/test/postgres/pipeline-child.ts")], {
      cwd: root,
      env: {
        ...process.env,
        ZETL_CHILD_SOURCE_URL: withDatabase(names.source),
        ZETL_CHILD_TARGET_URL: withDatabase(names.target),
        ZETL_CHILD_PIPELINE: pipeline,
        ZETL_CHILD_TABLE: "public.bench",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => {
      if (code !== 0) return fail(new Error(`pipeline child exited ${code}: ${err}`));
      done({ ...(JSON.parse(out.trim().split("\n").pop() ?? "{}") as ChildResult), wallMs: performance.now() - started });
    });
  });
}

function runRecvlogical(slot: string, publication: string, endpos: string): Promise<number> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(
      RECVLOGICAL,
      ["-d", withDatabase(names.source), "--slot", slot, "--start", `--endpos=${endpos}`, "-o", "proto_version=1", "-o", `publication_names=${publication}`, "-f", "/dev/null", "--no-loop"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => (code === 0 ? done(performance.now() - started) : fail(new Error(`pg_recvlogical exited ${code}: ${err}`))));
  });
}

const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${names.source}`);
await admin.query(`CREATE DATABASE ${names.target}`);
const db = new pg.Client({ connectionString: withDatabase(names.source) });
await db.connect();
try {
  await db.query("CREATE TABLE bench (id int8 PRIMARY KEY, qty int4, name text, price numeric(12,2), at timestamptz)");
  // first run: snapshot of the empty table, creates our slot and publication
  const first = await runOurs();
  console.log(`idle pipeline run: peak RSS ${(first.maxRssKb / 1024).toFixed(0)} MB (node + tsx + drivers)`);
  const publication = `zeroetl_${pipeline}`;
  await db.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [`ref_${pipeline}`]);

  const t0 = performance.now();
  await db.query(
    `INSERT INTO bench SELECT g, g % 1000, 'customer-' || g, (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, $1::int) g`,
    [ROWS],
  );
  const endpos = (await db.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn ?? "0/0";
  console.log(`source: one transaction of ${ROWS} rows inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const ours = await runOurs();
  if (ours.rows !== ROWS) throw new Error(`ours applied ${ours.rows} rows, expected ${ROWS}`);
  const target = new pg.Client({ connectionString: withDatabase(names.target) });
  await target.connect();
  const landed = Number((await target.query<{ n: string }>("SELECT count(*) AS n FROM public.bench")).rows[0]?.n ?? 0);
  await target.end();
  if (landed !== ROWS) throw new Error(`target holds ${landed} rows, expected ${ROWS}`);
  const refMs = await runRecvlogical(`ref_${pipeline}`, publication, endpos);

  const oursRate = ROWS / (ours.ms / 1000);
  const refRate = ROWS / (refMs / 1000);
  console.log(`ours (runPipeline PG->PG, decode + apply + commit): ${(ours.ms / 1000).toFixed(1)} s in the pipeline (${(ours.wallMs / 1000).toFixed(1)} s with process start) = ${Math.round(oursRate)} rows/s, peak RSS ${(ours.maxRssKb / 1024).toFixed(0)} MB`);
  console.log(`pg_recvlogical (drain the same transaction to /dev/null): ${(refMs / 1000).toFixed(1)} s = ${Math.round(refRate)} rows/s`);
  console.log(`RATIO big-tx ${(oursRate / refRate).toFixed(3)}`);
} finally {
  await db.end();
  await admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, [names.source]).catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS ${names.source} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${names.target} WITH (FORCE)`);
  await admin.end();
}
