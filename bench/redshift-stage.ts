/**
 * Redshift staging throughput: a batch of logical rows (as sources deliver
 * them) -> the Redshift sink's staged Parquet file (value conversion, VARCHAR
 * byte limits, Parquet encoding, Snappy), against DuckDB writing the same
 * rows, already in a DuckDB table, with `COPY ... TO (FORMAT parquet)` on
 * one thread. Alternating rounds, best round each. Both files are read back
 * by DuckDB and compared. Ends with `RATIO redshift-stage <ours/duckdb>`.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Row } from "../packages/core/src/index.js";
import { StageColumns, StageRowEncoder } from "../packages/sinks/src/redshift/index.js";
import type { StageColumn } from "../packages/sinks/src/redshift/index.js";

const ROWS = Number(process.env["BENCH_ROWS"] ?? 500_000);
const ROUNDS = 3;

const columns: StageColumn[] = [
  { name: "id", type: "BIGINT", source: "id" },
  { name: "qty", type: "INTEGER", source: "qty" },
  { name: "price", type: "DOUBLE PRECISION", source: "price" },
  { name: "name", type: "VARCHAR(256)", source: "name" },
  { name: "amount", type: "DECIMAL(18,2)", source: "amount" },
  { name: "ts", type: "TIMESTAMPTZ", source: "ts" },
  { name: "flag", type: "BOOLEAN", source: "flag" },
  { name: "category", type: "VARCHAR(64)", source: "category" },
];

const BASE_MS = 1_700_000_000_000;

function logicalRow(i: number): Row {
  return {
    id: BigInt(i),
    qty: i % 1000,
    price: i * 0.25,
    name: `name-${i % 10000}`,
    amount: `${Math.floor((i % 100000) / 100)}.${String(i % 100).padStart(2, "0")}`,
    ts: new Date(BASE_MS + i).toISOString(),
    flag: i % 2 === 0,
    category: `cat-${i % 50}`,
  };
}

const DUCK_TABLE = `CREATE TABLE rows AS SELECT i::BIGINT AS id, (i % 1000)::INTEGER AS qty, (i * 0.25)::DOUBLE AS price, 'name-' || (i % 10000) AS name,
  ((i % 100000) / 100)::DECIMAL(18,2) AS amount, make_timestamptz(${BASE_MS * 1000} + i * 1000) AS ts, (i % 2 = 0) AS flag, 'cat-' || (i % 50) AS category FROM range(${ROWS}) t(i)`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "zetl-bench-rs-"));
  const rows = Array.from({ length: ROWS }, (_, i) => logicalRow(i));
  const instance = await DuckDBInstance.create(":memory:");
  const duck = await instance.connect();
  await duck.run("SET threads=1");
  await duck.run(DUCK_TABLE);
  const batch = new StageColumns(new StageRowEncoder(columns));
  const ours: number[] = [];
  const theirs: number[] = [];
  // CPU time of the process per side (DuckDB runs on one in-process thread): steadier than wall time on a loaded machine
  const oursCpu: number[] = [];
  const theirsCpu: number[] = [];
  const cpuMs = (from: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(from);
    return (used.user + used.system) / 1000;
  };
  let ourSize = 0;
  let duckSize = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      let cpu = process.cpuUsage();
      // as the sink stages a batch: each row converted once into the table's column buffers (the previous batch's, as the sink reuses them), the file encoded from them
      batch.reset();
      for (const row of rows) {
        const index = batch.append(row);
        if (typeof index === "string") throw new Error(index);
      }
      const bytes = batch.file();
      writeFileSync(join(dir, "ours.parquet"), bytes);
      ours.push(performance.now() - t);
      oursCpu.push(cpuMs(cpu));
      ourSize = bytes.byteLength;

      t = performance.now();
      cpu = process.cpuUsage();
      await duck.run(`COPY rows TO '${join(dir, "duck.parquet")}' (FORMAT parquet)`);
      theirs.push(performance.now() - t);
      theirsCpu.push(cpuMs(cpu));
      duckSize = (await stat(join(dir, "duck.parquet"))).size;
    }
    const check = async (f: string): Promise<string> =>
      JSON.stringify(
        (await duck.runAndReadAll(`SELECT count(*)::VARCHAR c, sum(id)::VARCHAR s, sum(amount)::VARCHAR a, max(ts)::VARCHAR t, sum(qty)::VARCHAR q, count(DISTINCT category)::VARCHAR g FROM read_parquet('${f}')`)).getRowObjectsJson(),
      );
    const a = await check(join(dir, "ours.parquet"));
    const b = await check(join(dir, "duck.parquet"));
    console.log(`same values: ${a === b ? "yes" : `NO ours=${a} duckdb=${b}`}`);
    const best = (xs: number[]): number => Math.min(...xs);
    const oursRate = ourSize / (best(ours) / 1000);
    const duckRate = duckSize / (best(theirs) / 1000);
    const oursRows = ROWS / (best(ours) / 1000);
    const duckRows = ROWS / (best(theirs) / 1000);
    console.log(`rows=${ROWS} columns=${columns.length} rounds=${ROUNDS} (alternating; best round reported)`);
    console.log(`ours   (logical rows -> staged Parquet, conversion included): ${ours.map((x) => x.toFixed(0)).join("/")} ms  ${Math.round(oursRows).toLocaleString()} rows/s  ${(oursRate / 1e6).toFixed(1)} MB/s  ${(ourSize / 1e6).toFixed(1)} MB`);
    console.log(`duckdb (COPY table TO parquet, threads=1):                    ${theirs.map((x) => x.toFixed(0)).join("/")} ms  ${Math.round(duckRows).toLocaleString()} rows/s  ${(duckRate / 1e6).toFixed(1)} MB/s  ${(duckSize / 1e6).toFixed(1)} MB`);
    console.log(`cpu ms ours ${oursCpu.map((x) => x.toFixed(0)).join("/")}, duckdb ${theirsCpu.map((x) => x.toFixed(0)).join("/")}: cpu ratio ${(best(theirsCpu) / best(oursCpu)).toFixed(3)}`);
    // rows per second: the files differ in size (encodings), the work is the same rows
    console.log(`RATIO redshift-stage ${(oursRows / duckRows).toFixed(3)}`);
  } finally {
    duck.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
