import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { createIcebergSink, createLocalObjectStore, readIcebergTable } from "@zero-etl/sinks/iceberg";

// Child tables of unnested lists are cleared by their root key alone
// (DeleteEvent.match = "columns") when the old list is unknown.
const items: TableSchema = {
  table: { namespace: "public", name: "order_items" },
  version: 1,
  primaryKey: ["order_id", "idx"],
  columns: [
    { name: "order_id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "idx", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "sku", type: { kind: "string" }, nullable: true },
  ],
};
const table = items.table;
const checkpoint = (position: string): PipelineCheckpoint => ({ pipeline: "cols", phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() });

describe("iceberg sink: deletes by a subset of the key", () => {
  let warehouse: string;
  beforeAll(async () => {
    warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-cols-"));
  });
  afterAll(async () => {
    await rm(warehouse, { recursive: true, force: true });
  });

  const rows = async () =>
    (await readIcebergTable({ store: createLocalObjectStore(), location: join(warehouse, "lake", "order_items") })).rows
      .map((r) => `${String(r.order_id)}/${String(r.idx)}/${String(r.sku)}`)
      .sort();

  it("removes every committed and pending row matching the columns, and keeps later inserts", async () => {
    const sink = createIcebergSink({ warehouse, namespace: "lake" });
    await sink.open({ pipeline: "cols" });
    await sink.prepare(items);
    await sink.write({
      events: [
        { op: "insert", table, position: "1", after: { order_id: 1n, idx: 0, sku: "a" } },
        { op: "insert", table, position: "1", after: { order_id: 1n, idx: 1, sku: "b" } },
        { op: "insert", table, position: "1", after: { order_id: 1n, idx: 2, sku: "c" } },
        { op: "insert", table, position: "1", after: { order_id: 2n, idx: 0, sku: "x" } },
      ],
    });
    await sink.flush(checkpoint("1"));
    expect(await rows()).toEqual(["1/0/a", "1/1/b", "1/2/c", "2/0/x"]);

    await sink.write({
      events: [
        { op: "delete", table, position: "2", key: { order_id: 1n }, match: "columns" },
        { op: "insert", table, position: "2", after: { order_id: 1n, idx: 0, sku: "z" } },
        { op: "insert", table, position: "3", after: { order_id: 3n, idx: 0, sku: "gone" } },
        { op: "delete", table, position: "4", key: { order_id: 3n }, match: "columns" },
      ],
    });
    await sink.flush(checkpoint("4"));
    expect(await rows()).toEqual(["1/0/z", "2/0/x"]);
    await sink.close();
  });
});
