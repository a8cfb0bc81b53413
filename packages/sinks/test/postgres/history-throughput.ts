/**
 * History-mode throughput of the PostgreSQL sink against its latest-state
 * mode in the same run: 100k inserts, then 100k updates of every row, of a
 * 5-column table, through `write` (5 000 events per call) and `flush` (every
 * 10 000), as the runtime calls them. Run:
 *   node --conditions=zero-etl-source --import tsx packages/sinks/test/postgres/history-throughput.ts
 */
import type { ChangeEvent, TableRef, TableSchema } from "../../../core/src/index.js";
import { createPostgresSink } from "../../src/postgres/index.js";
import { createTestDatabase } from "../../../../test-support/postgres.js";

const ROWS = 100_000;
const BATCH = 5_000;
const FLUSH = 10_000;
const table: TableRef = { namespace: "bench", name: "orders" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: true },
    { name: "name", type: { kind: "string" }, nullable: true },
    { name: "price", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: true },
    { name: "at", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
  ],
};

const db = await createTestDatabase("histbench");
let lsn = 0x1000;
const position = () => `1/${(lsn++).toString(16).toUpperCase()}`;
try {
  for (const history of [false, true]) {
    const mode = history ? "history" : "latest";
    const sink = createPostgresSink({ url: db.url, tableName: () => `orders_${mode}`, ...(history ? { history: { tables: ["*"] } } : {}) });
    await sink.open({ pipeline: mode });
    await sink.prepare(schema);
    for (const op of ["insert", "update"] as const) {
      const started = performance.now();
      for (let from = 0; from < ROWS; from += BATCH) {
        const events: ChangeEvent[] = [];
        for (let i = from; i < from + BATCH; i++) {
          const after = { id: BigInt(i), qty: (i % 100) + (op === "update" ? 1 : 0), name: `customer-${i}`, price: `${i % 1000}.50`, at: "2024-01-01T00:00:00.000000Z" };
          const base = { table, position: position(), commitTime: 1_700_000_000_000 + i };
          events.push(op === "insert" ? { op, ...base, after } : { op, ...base, key: { id: BigInt(i) }, after });
        }
        await sink.write({ events });
        if ((from + BATCH) % FLUSH === 0) {
          await sink.flush({ pipeline: mode, phase: "streaming", position: `1/${(lsn - 1).toString(16).toUpperCase()}`, tables: {}, savedAt: new Date().toISOString() });
        }
      }
      const seconds = (performance.now() - started) / 1000;
      console.log(`${mode} ${op}s: ${ROWS} in ${seconds.toFixed(2)} s = ${Math.round(ROWS / seconds)} rows/s`);
    }
    await sink.close();
  }
} finally {
  await db.drop();
}
