/**
 * Throughput of the PostgreSQL sink: 100k upserts (inserts, then updates of
 * every row) through `write` + `flush`, against the server's bulk-load
 * ceiling measured in the same run (`psql \copy` of the same rows into an
 * empty table). Run:
 *   node --conditions=zero-etl-source --import tsx bench/postgres-sink.ts
 * Ends with `RATIO postgres-sink <ours/reference>` (higher is better).
 */
import { spawn } from "node:child_process";
import type { ChangeEvent, TableRef, TableSchema } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createTestDatabase } from "../test-support/postgres.js";

const ROWS = 100_000;
const BATCH = 10_000;
const table: TableRef = { namespace: "bench", name: "orders" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "customer", type: { kind: "string", maxLength: 64 }, nullable: false },
    { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: false },
    { name: "created_at", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: false },
    { name: "note", type: { kind: "string" }, nullable: true },
  ],
};

function row(i: number, version: number) {
  return {
    id: BigInt(i),
    customer: `customer-${i % 997}`,
    qty: (i * 7 + version) % 100,
    amount: `${(i % 100_000) + version}.${String(i % 100).padStart(2, "0")}`,
    created_at: `${new Date(1_700_000_000_000 + i * 1000).toISOString().slice(0, 23)}456Z`,
    note: version === 0 ? null : `updated ${version}`,
  };
}

async function timeSink(url: string, version: number): Promise<number> {
  const sink = createPostgresSink({ url });
  await sink.open({ pipeline: "bench" });
  await sink.prepare(schema);
  const batches: ChangeEvent[][] = [];
  for (let from = 0; from < ROWS; from += BATCH) {
    const events: ChangeEvent[] = [];
    for (let i = from; i < from + BATCH; i++) {
      const after = row(i, version);
      events.push(version === 0 ? { op: "insert", table, position: String(i), after } : { op: "update", table, position: String(i), key: { id: after.id }, after });
    }
    batches.push(events);
  }
  const start = performance.now();
  for (const events of batches) await sink.write({ events });
  await sink.flush({ pipeline: "bench", phase: "streaming", position: String(ROWS), tables: {}, savedAt: new Date().toISOString() });
  const seconds = (performance.now() - start) / 1000;
  await sink.close();
  return seconds;
}

async function timeCopy(url: string, db: { query: (s: string) => Promise<unknown> }): Promise<number> {
  await db.query(`CREATE TABLE public.orders_copy (id bigint PRIMARY KEY, customer varchar(64) NOT NULL, qty integer NOT NULL, amount numeric(12,2) NOT NULL, created_at timestamptz(6) NOT NULL, note text)`);
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const r = row(i, 0);
    lines.push(`${r.id},${r.customer},${r.qty},${r.amount},${r.created_at},`);
  }
  const csv = `${lines.join("\n")}\n`;
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const psql = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", "\\copy public.orders_copy FROM STDIN WITH (FORMAT csv)"], { stdio: ["pipe", "inherit", "inherit"] });
    psql.on("error", reject);
    psql.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`))));
    psql.stdin.end(csv);
  });
  return (performance.now() - start) / 1000;
}

const db = await createTestDatabase("pgsink_bench");
try {
  const insertSeconds = await timeSink(db.url, 0);
  const updateSeconds = await timeSink(db.url, 1);
  const copySeconds = await timeCopy(db.url, db);
  const count = (await db.query(`SELECT count(*)::int AS n, count(note)::int AS updated FROM public.orders`)) as { rows: { n: number; updated: number }[] };
  const rate = (s: number) => Math.round(ROWS / s);
  console.log(`rows in target: ${count.rows[0]?.n} (updated ${count.rows[0]?.updated})`);
  console.log(`sink inserts (upsert path, fresh keys): ${ROWS} rows in ${insertSeconds.toFixed(2)} s = ${rate(insertSeconds)} rows/s`);
  console.log(`sink updates (upsert path, existing keys): ${ROWS} rows in ${updateSeconds.toFixed(2)} s = ${rate(updateSeconds)} rows/s`);
  console.log(`reference psql \\copy into an empty table: ${ROWS} rows in ${copySeconds.toFixed(2)} s = ${rate(copySeconds)} rows/s`);
  const ours = (2 * ROWS) / (insertSeconds + updateSeconds);
  console.log(`RATIO postgres-sink ${(ours / rate(copySeconds)).toFixed(3)}`);
} finally {
  await db.drop();
}
