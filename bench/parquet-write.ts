/**
 * Parquet write throughput of the Iceberg sink's writer against DuckDB's
 * `COPY ... TO (FORMAT parquet)` with one thread, on the same 1M rows x 10
 * columns, alternating rounds. Also prints the latency of a 10k-row commit
 * (data file + delete-free manifest + manifest list + metadata) and where
 * the writer's time goes (value conversion, column encoding, Snappy). Ends
 * with `RATIO parquet-write <ours/duckdb>`.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Row, TableSchema } from "../packages/core/src/index.js";
import { createIcebergSink, toIcebergSchema, toIcebergValue, writeParquetFile } from "../packages/sinks/src/iceberg/index.js";

const ROWS = Number(process.env["BENCH_ROWS"] ?? 1_000_000);
const ROUNDS = 3;
const BASE_TS = 1_700_000_000_000_000n;

const schema: TableSchema = {
  table: { namespace: "bench", name: "wide" },
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: true },
    { name: "price", type: { kind: "float", bits: 64 }, nullable: true },
    { name: "name", type: { kind: "string" }, nullable: true },
    { name: "amount", type: { kind: "decimal", precision: 18, scale: 2 }, nullable: true },
    { name: "ts", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
    { name: "flag", type: { kind: "bool" }, nullable: true },
    { name: "score", type: { kind: "float", bits: 64 }, nullable: true },
    { name: "code", type: { kind: "int", bits: 32, signed: true }, nullable: true },
    { name: "category", type: { kind: "string" }, nullable: true },
  ],
  primaryKey: ["id"],
  version: 1,
};

/** The same values DuckDB generates from range(): row i in Iceberg form. */
function encodedRow(i: number): unknown[] {
  return [BigInt(i), i % 1000, i * 0.25, `name-${i % 10000}`, BigInt(i % 100000), BASE_TS + BigInt(i) * 1000n, i % 2 === 0, (i % 7) * 1.5, (i * 7) % 65536, `cat-${i % 50}`];
}

const DUCK_SELECT = `SELECT i::BIGINT AS id, (i % 1000)::INTEGER AS qty, (i * 0.25)::DOUBLE AS price, 'name-' || (i % 10000) AS name,
  ((i % 100000) / 100)::DECIMAL(18,2) AS amount, make_timestamptz(${BASE_TS} + i * 1000) AS ts, (i % 2 = 0) AS flag,
  ((i % 7) * 1.5)::DOUBLE AS score, ((i * 7) % 65536)::INTEGER AS code, 'cat-' || (i % 50) AS category FROM range(${ROWS}) t(i)`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "zetl-bench-parquet-"));
  const fields = toIcebergSchema(schema, { unconstrainedDecimal: "decimal(38,10)" }).schema.fields;
  const rows = Array.from({ length: ROWS }, (_, i) => encodedRow(i));
  const instance = await DuckDBInstance.create(":memory:");
  const duck = await instance.connect();
  await duck.run("SET threads=1");
  const ours: number[] = [];
  const theirs: number[] = [];
  let ourSize = 0;
  let duckSize = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      const file = writeParquetFile({ fields, rows });
      writeFileSync(join(dir, "ours.parquet"), file.bytes);
      ours.push(performance.now() - t);
      ourSize = file.bytes.byteLength;

      t = performance.now();
      await duck.run(`COPY (${DUCK_SELECT}) TO '${join(dir, "duck.parquet")}' (FORMAT parquet)`);
      theirs.push(performance.now() - t);
      duckSize = (await stat(join(dir, "duck.parquet"))).size;
    }
    // Same values in both files: compare aggregates read back by DuckDB.
    const check = async (f: string): Promise<string> =>
      JSON.stringify((await duck.runAndReadAll(`SELECT count(*)::VARCHAR c, sum(id)::VARCHAR s, sum(amount)::VARCHAR a, max(ts)::VARCHAR t, sum(code)::VARCHAR k, count(DISTINCT category)::VARCHAR g FROM read_parquet('${f}')`)).getRowObjectsJson());
    const a = await check(join(dir, "ours.parquet"));
    const b = await check(join(dir, "duck.parquet"));
    console.log(`same values: ${a === b ? "yes" : `NO ours=${a} duckdb=${b}`}`);

    // Where time goes: converting logical rows (as sources deliver them) to Iceberg values, then Parquet.
    const sample = Math.min(ROWS, 200_000);
    const logical: Row[] = Array.from({ length: sample }, (_, i) => ({
      id: BigInt(i),
      qty: i % 1000,
      price: i * 0.25,
      name: `name-${i % 10000}`,
      amount: `${Math.floor((i % 100000) / 100)}.${String(i % 100).padStart(2, "0")}`,
      ts: new Date(Number(BASE_TS / 1000n) + i).toISOString().replace("Z", "000Z"),
      flag: i % 2 === 0,
      score: (i % 7) * 1.5,
      code: (i * 7) % 65536,
      category: `cat-${i % 50}`,
    }));
    const sampleRows = rows.slice(0, sample);
    const best3 = (run: () => void): number => {
      let bestMs = Infinity;
      for (let k = 0; k < 3; k++) {
        const start = performance.now();
        run();
        bestMs = Math.min(bestMs, performance.now() - start);
      }
      return bestMs;
    };
    const convertMs = best3(() => {
      for (const r of logical) for (const f of fields) toIcebergValue(f.type as string, r[f.name] ?? null);
    });
    // Alternate the two so load from other processes hits both alike.
    let plainMs = Infinity;
    let writeMs = Infinity;
    for (let k = 0; k < 5; k++) {
      plainMs = Math.min(plainMs, best3(() => writeParquetFile({ fields, rows: sampleRows, codec: "uncompressed" })));
      writeMs = Math.min(writeMs, best3(() => writeParquetFile({ fields, rows: sampleRows })));
    }
    let t: number;

    // Commit latency: 10k inserted rows through the sink, flush = data file + manifest + manifest list + metadata.
    const sink = createIcebergSink({ warehouse: join(dir, "wh"), namespace: "bench" });
    await sink.open({ pipeline: "bench" });
    await sink.prepare(schema);
    const commits: number[] = [];
    for (let c = 0; c < 5; c++) {
      await sink.write({ events: logical.slice(c * 10_000, (c + 1) * 10_000).map((after, k) => ({ op: "insert" as const, table: schema.table, position: `${c}/${k}`, after })) });
      t = performance.now();
      await sink.flush({ pipeline: "bench", phase: "streaming", position: String(c), tables: {}, savedAt: new Date().toISOString() });
      commits.push(performance.now() - t);
    }
    await sink.close();

    const best = (xs: number[]): number => Math.min(...xs);
    const oursRate = ROWS / (best(ours) / 1000);
    const duckRate = ROWS / (best(theirs) / 1000);
    console.log(`rows=${ROWS} columns=10 rounds=${ROUNDS} (alternating; best round reported)`);
    console.log(`ours   (columnar encoder, Snappy, field ids + manifest metrics): ${ours.map((x) => x.toFixed(0)).join("/")} ms  ${Math.round(oursRate).toLocaleString()} rows/s  ${(ourSize / 1e6).toFixed(1)} MB`);
    console.log(`duckdb (COPY ... FORMAT parquet, threads=1, generation included): ${theirs.map((x) => x.toFixed(0)).join("/")} ms  ${Math.round(duckRate).toLocaleString()} rows/s  ${(duckSize / 1e6).toFixed(1)} MB`);
    console.log(
      `where time goes (${sample} rows, best of 3 / 15): logical->iceberg value conversion ${convertMs.toFixed(0)} ms (not in the ratio); ` +
        `columns+metrics+footer ${plainMs.toFixed(0)} ms, Snappy ${Math.max(0, writeMs - plainMs).toFixed(0)} ms (total ${writeMs.toFixed(0)} ms)`,
    );
    console.log(`commit latency, 10k rows (buffer->parquet->manifest->manifest list->vN.metadata.json): ${commits.map((x) => x.toFixed(0)).join("/")} ms, median ${[...commits].sort((x, y) => x - y)[2]?.toFixed(0)} ms`);
    console.log(`RATIO parquet-write ${(oursRate / duckRate).toFixed(3)}`);
  } finally {
    duck.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
