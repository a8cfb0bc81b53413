import type { Row } from "../packages/core/src/index.js";
import { StageRowEncoder } from "../packages/sinks/src/redshift/index.js";
import { StageColumns } from "../packages/sinks/src/redshift/redshift-stage-columns.js";
import type { StageColumn } from "../packages/sinks/src/redshift/index.js";
import { writeFileSync } from "node:fs";
const ROWS = 500_000;
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
  return { id: BigInt(i), qty: i % 1000, price: i * 0.25, name: `name-${i % 10000}`,
    amount: `${Math.floor((i % 100000) / 100)}.${String(i % 100).padStart(2, "0")}`,
    ts: new Date(BASE_MS + i).toISOString(), flag: i % 2 === 0, category: `cat-${i % 50}` };
}
const rows = Array.from({ length: ROWS }, (_, i) => logicalRow(i));
const enc = new StageRowEncoder(columns);
for (let round = 0; round < Number(process.env.R ?? 5); round++) {
  const c0 = process.cpuUsage();
  const batch = new StageColumns(enc);
  for (const row of rows) { const r = batch.append(row); if (typeof r === "string") throw new Error(r); }
  const c1 = process.cpuUsage(c0);
  const bytes = batch.file();
  const c2 = process.cpuUsage(c0);
  console.log(`append ${((c1.user+c1.system)/1000).toFixed(0)} total ${((c2.user+c2.system)/1000).toFixed(0)} bytes ${bytes.length}`);
  if (round === 0) writeFileSync("/tmp/rsprof/new.parquet", bytes);
}
