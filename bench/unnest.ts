/**
 * Unnesting throughput: 100k nested JSON documents (~1 KB each: nested
 * objects three levels deep, lists, optional attributes), generated
 * deterministically, flattened in `all` mode with lists kept as JSON.
 *
 * Both sides start from the same JSON text, because JSON text is what the
 * value model carries for a `json` column (a PostgreSQL jsonb column arrives
 * as text):
 * - ours: `createUnnestMapper({ mode: "all" }).mapChunk` on chunks of 1000
 *   rows, the path a pipeline snapshot takes; it walks the text once, keeps
 *   every number exact (int64 as bigint, other numbers as decimal strings)
 *   and keeps lists as their exact JSON text;
 * - reference: `JSON.parse` + `flat`'s `flatten(doc, { delimiter: "__", safe: true })`
 *   (`safe` keeps arrays whole, like our lists-as-JSON); numbers become
 *   floats, so big or long numbers lose digits there.
 * Rounds alternate between the two; the median throughput of each is compared.
 *
 * Run: node --conditions=zero-etl-source --import tsx bench/unnest.ts
 */
import { flatten } from "flat";
import type { MapperContext, Row, TableSchema } from "../packages/core/src/index.js";
import { createUnnestMapper } from "../packages/mappers/src/index.js";

const DOCS = Number(process.env.ZETL_BENCH_DOCS ?? 100_000);
const ROUNDS = 5;
const CHUNK = 1000;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
const word = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join("");
const cities = ["Lisbon", "Porto", "Berlin", "Lyon", "Austin", "Osaka", "Cape Town", "Quito"];

function makeDocument(i: number): string {
  const items = Array.from({ length: 2 + Math.floor(next() * 3) }, () => ({ sku: `SKU-${word(6)}`, qty: 1 + Math.floor(next() * 5), price: Math.round(next() * 100000) / 100 }));
  const doc: Record<string, unknown> = {
    id: i,
    status: pick(["new", "paid", "shipped", "returned"]),
    customer: {
      name: `${word(6)} ${word(8)}`,
      email: `${word(7)}@${word(5)}.example`,
      tier: pick(["gold", "silver", "bronze"]),
      vip: next() < 0.1,
      address: { street: `${1 + Math.floor(next() * 999)} ${word(9)} street`, city: pick(cities), zip: String(10000 + Math.floor(next() * 89999)), geo: { lat: Math.round(next() * 180_000_000) / 1_000_000 - 90, lng: Math.round(next() * 360_000_000) / 1_000_000 - 180 } },
    },
    order: {
      total: Math.round(next() * 1_000_000) / 100,
      currency: pick(["EUR", "USD", "JPY"]),
      items,
      shipping: { method: pick(["ground", "air"]), cost: Math.round(next() * 5000) / 100, eta: { days: 1 + Math.floor(next() * 9), guaranteed: next() < 0.5 } },
    },
    tags: Array.from({ length: Math.floor(next() * 4) }, () => word(5)),
    meta: { source: pick(["web", "app", "pos"]), version: 1 + Math.floor(next() * 3), created: `2024-0${1 + Math.floor(next() * 9)}-1${Math.floor(next() * 9)}T12:${10 + Math.floor(next() * 49)}:00Z`, flags: { fraud: next() < 0.01, test: false } },
    notes: word(200 + Math.floor(next() * 160)),
  };
  if (next() < 0.3) doc["coupon"] = { code: word(8).toUpperCase(), percent: 5 + Math.floor(next() * 20) };
  if (next() < 0.2) (doc["customer"] as Record<string, unknown>)["phone"] = `+351 ${Math.floor(next() * 1e9)}`;
  return JSON.stringify(doc);
}

const texts: string[] = [];
let bytes = 0;
for (let i = 0; i < DOCS; i++) {
  const text = makeDocument(i);
  texts.push(text);
  bytes += text.length;
}
const rows: Row[] = texts.map((doc, id) => ({ id, doc }));

const schema: TableSchema = {
  table: { namespace: "bench", name: "orders" },
  columns: [
    { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "doc", type: { kind: "json" }, nullable: true },
  ],
  primaryKey: ["id"],
  version: 1,
};
const context: MapperContext = {
  sink: { nestedData: "none", maxIdentifierLength: 63, upsert: true, transactionalDdl: true, checkpointsInTarget: true, keylessTables: false },
};

let sink = 0;
function runOurs(): number {
  const mapper = createUnnestMapper({ mode: "all" });
  const start = performance.now();
  for (let offset = 0; offset < rows.length; offset += CHUNK) {
    const chunkRows = rows.slice(offset, offset + CHUNK);
    const out = mapper.mapChunk?.({ table: schema.table, schema, rows: chunkRows, chunk: offset / CHUNK, last: offset + CHUNK >= rows.length, rowsRead: offset + chunkRows.length }, context) ?? [];
    sink += out[0]?.rows.length ?? 0;
  }
  return performance.now() - start;
}

function runFlat(): number {
  const start = performance.now();
  for (let offset = 0; offset < rows.length; offset += CHUNK) {
    const out: Record<string, unknown>[] = [];
    const end = Math.min(rows.length, offset + CHUNK);
    for (let i = offset; i < end; i++) {
      const row = rows[i] as Row;
      const flat = flatten<unknown, Record<string, unknown>>(JSON.parse(row["doc"] as string), { delimiter: "__", safe: true });
      flat["id"] = row["id"];
      out.push(flat);
    }
    sink += out.length;
  }
  return performance.now() - start;
}

const sample = createUnnestMapper({ mode: "all" }).mapChunk?.({ table: schema.table, schema, rows: rows.slice(0, 1), chunk: 0, last: true, rowsRead: 1 }, context)?.[0];
const flatSample = flatten<unknown, Record<string, unknown>>(JSON.parse(texts[0] as string), { delimiter: "__", safe: true });
const ourKeys = Object.keys(sample?.rows[0] ?? {}).filter((k) => k !== "id").map((k) => k.replace(/^doc__/, "")).sort();
const flatKeys = Object.keys(flatSample).sort();
if (ourKeys.join(",") !== flatKeys.join(",")) {
  console.error(`column sets differ:\n ours ${ourKeys.join(",")}\n flat ${flatKeys.join(",")}`);
  process.exit(1);
}

console.log(`${DOCS} documents, ${(bytes / DOCS).toFixed(0)} bytes each on average, ${(bytes / 1e6).toFixed(1)} MB of JSON text; ${ourKeys.length} flattened columns per document (first one)`);
console.log("both sides start from JSON text; lists stay whole (ours: exact JSON text, flat: safe arrays)");
const ours: number[] = [];
const reference: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const a = runOurs();
  const b = runFlat();
  ours.push(a);
  reference.push(b);
  console.log(`round ${round + 1}: ours ${(DOCS / (a / 1000)).toFixed(0)} rows/s (${a.toFixed(0)} ms), flat ${(DOCS / (b / 1000)).toFixed(0)} rows/s (${b.toFixed(0)} ms)`);
}
const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] as number;
const oursRate = DOCS / (median(ours) / 1000);
const flatRate = DOCS / (median(reference) / 1000);
console.log(`median: ours ${oursRate.toFixed(0)} rows/s (${((bytes / 1e6) / (median(ours) / 1000)).toFixed(0)} MB/s), JSON.parse+flat ${flatRate.toFixed(0)} rows/s (checksum ${sink})`);
console.log(`RATIO unnest ${(oursRate / flatRate).toFixed(2)}`);
