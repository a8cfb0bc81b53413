import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { createIcebergSink } from "@zero-etl/sinks/iceberg";
import type { IcebergSink } from "@zero-etl/sinks/iceberg";
import { openDuckDb } from "./iceberg-test-kit.js";

const TABLE = { namespace: "public", name: "t" };
const SCHEMA: TableSchema = {
  table: TABLE,
  columns: [
    { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "n", type: { kind: "int", bits: 32, signed: true }, nullable: true },
  ],
  primaryKey: ["id"],
  version: 1,
};

function checkpoint(position: string): PipelineCheckpoint {
  return { pipeline: "rej", phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() };
}

// A value `write` lets through but the Parquet writer refuses (here a number
// beyond int32 in an `int` column, which an embedding caller can hand in)
// must not fail the commit: the row is left out and returned to the runtime
// for the dead-letter queue, with its table, key and the column.
describe("iceberg sink: records refused only at commit", () => {
  let warehouse: string;
  let sink: IcebergSink;

  beforeAll(async () => {
    warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-rej-"));
    sink = createIcebergSink({ warehouse, namespace: "lake" });
    await sink.open({ pipeline: "rej" });
    await sink.prepare(SCHEMA);
  });

  afterAll(async () => {
    await sink.close();
    await rm(warehouse, { recursive: true, force: true });
  });

  it("commits the other rows and returns the refused one with its key and column", async () => {
    const events = [1, 2, 3, 4, 5].map((id) => ({ op: "insert" as const, table: TABLE, position: `p${id}`, after: { id, n: id === 4 ? 2 ** 40 : id * 10 } }));
    const receipt = await sink.write({ events, checkpoint: "p5" });
    expect(receipt.rejected).toEqual([]);
    const flushed = await sink.flush(checkpoint("p5"));
    const rejected = flushed === undefined ? [] : flushed.rejected;
    expect(rejected).toHaveLength(1);
    const [refused] = rejected;
    expect(refused?.event.op).toBe("update");
    expect(refused?.event.position).toBe("p4");
    expect(refused?.event.table).toEqual(TABLE);
    expect(refused?.event.op === "update" ? refused.event.key : undefined).toEqual({ id: 4 });
    expect(refused?.reason).toMatch(/column n .*32-bit/);
    expect(refused?.reason).not.toMatch(/row \d/);

    const duck = await openDuckDb();
    try {
      const result = await duck.connection.runAndReadAll(`SELECT id, n FROM read_parquet('${join(warehouse, "lake", "t", "data", "data-*.parquet")}') ORDER BY id`);
      expect(result.getRowObjectsJson()).toEqual([{ id: 1, n: 10 }, { id: 2, n: 20 }, { id: 3, n: 30 }, { id: 5, n: 50 }]);
    } finally {
      duck.close();
    }
    // nothing left over for the next flush
    const again = await sink.flush(checkpoint("p6"));
    expect(again === undefined ? [] : again.rejected).toEqual([]);
  });
});
