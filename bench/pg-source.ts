/**
 * PostgreSQL source throughput: drain one 200k-row transaction from a fresh
 * pgoutput slot with our source (full decode to ChangeEvents) and with
 * `pg_recvlogical` (receives the same pgoutput bytes and writes them to
 * /dev/null, no decoding), alternating, fresh slots each round. A third slot
 * per round is drained by our ReplicationStream alone (protocol + pgoutput
 * parse, no value decoding) to show where our time goes.
 *
 * Run: node --conditions=zero-etl-source --import tsx bench/pg-source.ts
 */
import { spawn } from "node:child_process";
import pg from "pg";
import type { Source } from "../packages/core/src/index.js";
import { createPostgresSource, formatLsn, parseLsn } from "../packages/sources/src/postgres/index.js";
import { ReplicationStream } from "../packages/sources/src/postgres/replication-stream.js";
import { connectPostgres } from "../packages/sources/src/postgres/postgres-connection.js";

const BASE_URL = process.env.ZETL_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";
const ROWS = Number(process.env.ZETL_BENCH_ROWS ?? 200_000);
const ROUNDS = 3;
const RECVLOGICAL = process.env.PG_RECVLOGICAL ?? "/usr/lib/postgresql/15/bin/pg_recvlogical";

const dbName = `zetl_bench_pgsrc_${Math.random().toString(36).slice(2, 8)}`;
const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(BASE_URL);
url.pathname = `/${dbName}`;
const dbUrl = url.toString();
const db = new pg.Client({ connectionString: dbUrl });
await db.connect();

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** CPU milliseconds this process spent in each of our drains (user + system), to show where our time goes. */
const cpu = { ours: [] as number[], raw: [] as number[] };
const cpuMs = (start: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
};

async function drainOurs(slot: string, from: string): Promise<number> {
  const source: Source = createPostgresSource({ url: dbUrl, pipeline: "bench", slot, publication: "bench_pub", tables: [{ namespace: "public", name: "bench" }] });
  const controller = new AbortController();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let inserts = 0;
  for await (const batch of source.stream(from, { signal: controller.signal })) {
    for (const e of batch.events) if (e.op === "insert") inserts++;
    if (inserts >= ROWS) break;
  }
  const ms = performance.now() - t0;
  cpu.ours.push(cpuMs(c0));
  controller.abort();
  await source.close();
  if (inserts !== ROWS) throw new Error(`ours: expected ${ROWS} inserts, got ${inserts}`);
  return ms;
}

async function drainRaw(slot: string, from: string): Promise<number> {
  const client = await connectPostgres({ url: dbUrl, ssl: undefined }, { replication: true });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const lsn = parseLsn(from);
  const stream = ReplicationStream.start({ client, slot, publication: "bench_pub", startLsn: lsn, acknowledged: lsn });
  let inserts = 0;
  while (inserts < ROWS) {
    const items = await stream.take();
    if (items === null) break;
    for (const item of items) if (item.kind === "data" && item.message.tag === "insert") inserts++;
  }
  const ms = performance.now() - t0;
  cpu.raw.push(cpuMs(c0));
  await stream.close();
  if (inserts !== ROWS) throw new Error(`raw: expected ${ROWS} inserts, got ${inserts}`);
  return ms;
}

async function drainRecvlogical(slot: string, endpos: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      RECVLOGICAL,
      ["-d", dbUrl, "--slot", slot, "--start", `--endpos=${endpos}`, "-o", "proto_version=1", "-o", "publication_names=bench_pub", "-f", "/dev/null", "--no-loop"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`pg_recvlogical exited ${code}: ${stderr}`))));
  });
  return performance.now() - t0;
}

try {
  await db.query("CREATE TABLE bench (id int8 PRIMARY KEY, qty int4, name text, price numeric(12,2), at timestamptz)");
  await db.query("CREATE PUBLICATION bench_pub FOR TABLE bench");
  const ours: number[] = [];
  const raw: number[] = [];
  const ref: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await db.query("TRUNCATE bench");
    const names = [`bench_ours_${round}`, `bench_raw_${round}`, `bench_ref_${round}`];
    const starts: string[] = [];
    for (const name of names) {
      const r = await db.query<{ lsn: string }>("SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
      starts.push(formatLsn(parseLsn(r.rows[0]?.lsn ?? "0/0")));
    }
    const ti = performance.now();
    await db.query(
      `INSERT INTO bench SELECT g, g % 1000, 'customer-' || g, (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
         FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    const insertMs = performance.now() - ti;
    const endpos = (await db.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn ?? "0/0";
    // alternate who goes first so caching favours neither
    const order = round % 2 === 0 ? ["ours", "raw", "ref"] : ["ref", "raw", "ours"];
    for (const who of order) {
      if (who === "ours") ours.push(await drainOurs(names[0] as string, starts[0] as string));
      else if (who === "raw") raw.push(await drainRaw(names[1] as string, starts[1] as string));
      else ref.push(await drainRecvlogical(names[2] as string, endpos));
    }
    const rate = (ms: number | undefined) => Math.round((ROWS / (ms ?? 1)) * 1000);
    console.log(
      `round ${round + 1}: insert ${Math.round(insertMs)} ms; ours ${rate(ours.at(-1))} rows/s, stream+pgoutput only ${rate(raw.at(-1))} rows/s, pg_recvlogical ${rate(ref.at(-1))} rows/s`,
    );
    for (const name of names) await db.query("SELECT pg_drop_replication_slot($1)", [name]);
  }
  const oursRate = ROWS / (median(ours) / 1000);
  const rawRate = ROWS / (median(raw) / 1000);
  const refRate = ROWS / (median(ref) / 1000);
  console.log(`rows: ${ROWS} in one transaction, 5 columns (int8, int4, text, numeric(12,2), timestamptz); medians of ${ROUNDS} rounds`);
  console.log(`ours (full decode to ChangeEvents): ${Math.round(oursRate)} rows/s`);
  console.log(`ours, replication stream + pgoutput parse only: ${Math.round(rawRate)} rows/s`);
  const perRow = (ms: number) => ((ms * 1000) / ROWS).toFixed(2);
  console.log(
    `our CPU per row (median): ${perRow(median(cpu.raw))} µs for socket + protocol + pgoutput parse, ${perRow(median(cpu.ours))} µs in total with value decoding and events ` +
      `(the rest of the wall time is waiting for the server's logical decoding)`,
  );
  console.log(`pg_recvlogical (no decoding, to /dev/null): ${Math.round(refRate)} rows/s`);
  console.log(`RATIO pg-source ${(oursRate / refRate).toFixed(3)}`);
} finally {
  await db.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
