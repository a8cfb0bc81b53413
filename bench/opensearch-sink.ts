/**
 * Throughput of the OpenSearch sink: 50k inserts then 50k updates through
 * `write` + `flush` (versioned `_bulk` requests of at most 1000 documents),
 * against the node's own ceiling measured in the same run: the same 50k
 * documents posted as one prepared `_bulk` NDJSON body with `curl` into an
 * index with the same mapping. Run:
 *   node --conditions=zero-etl-source --import tsx bench/opensearch-sink.ts
 * Ends with `RATIO opensearch-sink <ours/reference>` (higher is better).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChangeEvent, TableRef, TableSchema } from "@zero-etl/core";
import { createOpenSearchSink } from "@zero-etl/sinks/opensearch";
import { countDocuments, deleteIndices, openSearchRequest, openSearchUrl, uniqueIndexPrefix } from "../test-support/opensearch.js";

const ROWS = 50_000;
const BATCH = 5_000;
const prefix = uniqueIndexPrefix("bench");
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

/** A PostgreSQL-like LSN, so every write carries an external version as in a real pipeline. */
const lsn = (version: number, i: number) => `${version.toString(16)}/${i.toString(16)}`;

async function timeSink(version: number): Promise<number> {
  const sink = createOpenSearchSink({ node: openSearchUrl(), index: `${prefix}.{namespace}.{table}` });
  await sink.open({ pipeline: `${prefix}_bench` });
  await sink.prepare(schema);
  const batches: ChangeEvent[][] = [];
  for (let from = 0; from < ROWS; from += BATCH) {
    const events: ChangeEvent[] = [];
    for (let i = from; i < from + BATCH; i++) {
      const after = row(i, version);
      events.push(version === 0 ? { op: "insert", table, position: lsn(1, i), after } : { op: "update", table, position: lsn(2, i), key: { id: after.id }, after });
    }
    batches.push(events);
  }
  const start = performance.now();
  for (const events of batches) await sink.write({ events });
  await sink.flush({ pipeline: `${prefix}_bench`, phase: "streaming", position: lsn(2, ROWS), tables: {}, savedAt: new Date().toISOString() });
  const seconds = (performance.now() - start) / 1000;
  await sink.close();
  return seconds;
}

async function timeCurl(mappingFrom: string): Promise<{ seconds: number; index: string }> {
  const index = `${prefix}.reference`;
  const mappings = Object.values((await openSearchRequest("GET", `/${mappingFrom}/_mapping`)).body as Record<string, { mappings: unknown }>)[0]?.mappings;
  await openSearchRequest("PUT", `/${index}`, { settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings });
  let body = "";
  for (let i = 0; i < ROWS; i++) {
    const r = row(i, 0);
    body += `{"index":{"_index":"${index}","_id":"${i}"}}\n${JSON.stringify({ ...r, id: String(r.id) })}\n`;
  }
  const dir = await mkdtemp(join(tmpdir(), "zetl-os-bench-"));
  const file = join(dir, "bulk.ndjson");
  await writeFile(file, body);
  try {
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const curl = spawn("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-type: application/x-ndjson", "--data-binary", `@${file}`, `${openSearchUrl()}/_bulk`], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      curl.stdout.on("data", (d: Buffer) => (out += d.toString()));
      curl.on("error", reject);
      curl.on("exit", (code) => (code === 0 && out === "200" ? resolve() : reject(new Error(`curl exited with ${code}, HTTP ${out}`))));
    });
    return { seconds: (performance.now() - start) / 1000, index };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  const insertSeconds = await timeSink(0);
  const updateSeconds = await timeSink(1);
  const alias = `${prefix}.bench.orders`;
  const reference = await timeCurl(alias);
  const rate = (s: number) => Math.round(ROWS / s);
  console.log(`documents in target: ${await countDocuments(alias)}, in reference: ${await countDocuments(reference.index)}`);
  console.log(`sink inserts (versioned index ops): ${ROWS} documents in ${insertSeconds.toFixed(2)} s = ${rate(insertSeconds)} docs/s`);
  console.log(`sink updates (versioned index ops over existing ids): ${ROWS} documents in ${updateSeconds.toFixed(2)} s = ${rate(updateSeconds)} docs/s`);
  console.log(`reference curl of one prepared _bulk body into an empty index: ${ROWS} documents in ${reference.seconds.toFixed(2)} s = ${rate(reference.seconds)} docs/s`);
  const ours = (2 * ROWS) / (insertSeconds + updateSeconds);
  console.log(`RATIO opensearch-sink ${(ours / rate(reference.seconds)).toFixed(3)}`);
} finally {
  await deleteIndices(prefix);
  await openSearchRequest("DELETE", `/zeroetl_state/_doc/${prefix}_bench`, undefined, [404]);
}
