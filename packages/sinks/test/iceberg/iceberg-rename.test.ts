import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { createIcebergSink } from "@zero-etl/sinks/iceberg";
import type { IcebergSchema, IcebergSink } from "@zero-etl/sinks/iceberg";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "./iceberg-test-kit.js";

// A column renamed at the source (SchemaChangeEvent.renamed, new -> old) is
// renamed in Iceberg by field id: rows written before keep their values under
// the new name, read back by icebird and by DuckDB from the Parquet files.
const v1: TableSchema = {
  table: { namespace: "public", name: "people" },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "old_name", type: { kind: "string" }, nullable: true },
    { name: "score", type: { kind: "int", bits: 32, signed: true }, nullable: true },
  ],
};
const v2: TableSchema = { ...v1, version: 2, columns: v1.columns.map((c) => (c.name === "old_name" ? { ...c, name: "new_name" } : c)) };
// a key column renamed, and two columns swapping names
const v3: TableSchema = {
  ...v1,
  version: 3,
  primaryKey: ["person_id"],
  columns: [
    { name: "person_id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "score", type: { kind: "string" }, nullable: true },
    { name: "new_name", type: { kind: "int", bits: 32, signed: true }, nullable: true },
  ],
};
const table = v1.table;
const checkpoint = (position: string): PipelineCheckpoint => ({ pipeline: "ren", phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() });

describe("iceberg sink: column renames keep field ids", () => {
  let warehouse: string;
  let restoreFetch: () => void;
  let sink: IcebergSink;
  beforeAll(async () => {
    warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-rename-"));
    restoreFetch = serveLocalFilesToFetch();
  });
  afterAll(async () => {
    restoreFetch?.();
    await sink?.close();
    await rm(warehouse, { recursive: true, force: true });
  });

  const location = () => join(warehouse, "lake", "people");
  const viaIcebird = async () =>
    ((await icebergRead({ tableUrl: location() })) as Record<string, unknown>[])
      .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === undefined || v === null ? null : String(v)])))
      .sort((a, b) => Number(Object.values(a)[0]) - Number(Object.values(b)[0]));

  /** icebird's metadata and manifests, DuckDB on the files, columns matched by field id, equality deletes applied. */
  const viaFieldIds = async () => (await readIcebergByFieldId(location())).sort((a, b) => Number(Object.values(a)[0]) - Number(Object.values(b)[0]));

  const currentSchema = async (): Promise<IcebergSchema> => {
    const meta = (await sink.describeTable(table))?.metadata;
    const schema = meta?.schemas.find((s) => s["schema-id"] === meta["current-schema-id"]);
    if (schema === undefined) throw new Error("no current schema");
    return schema;
  };

  it("renames in place: old rows keep their values under the new name, new rows land beside them", async () => {
    sink = createIcebergSink({ warehouse, namespace: "lake" });
    await sink.open({ pipeline: "ren" });
    await sink.prepare(v1);
    await sink.write({ events: [1, 2, 3].map((i) => ({ op: "insert" as const, table, position: String(i), after: { id: BigInt(i), old_name: `n${i}`, score: i } })) });
    await sink.flush(checkpoint("3"));
    const before = await currentSchema();

    await sink.write({
      events: [
        { op: "schema", table, position: "4", schema: v2, previous: v1, renamed: { new_name: "old_name" } },
        { op: "insert", table, position: "5", after: { id: 4n, new_name: "n4", score: 4 } },
      ],
    });
    await sink.flush(checkpoint("5"));
    const after = await currentSchema();
    expect(after.fields.map((f) => [f.id, f.name])).toEqual([
      [1, "id"],
      [2, "new_name"],
      [3, "score"],
    ]);
    expect(after.fields.map((f) => f.id)).toEqual(before.fields.map((f) => f.id));
    const expected = [1, 2, 3, 4].map((i) => ({ id: String(i), new_name: `n${i}`, score: String(i) }));
    expect(await viaFieldIds()).toEqual(expected);
    expect(await viaIcebird()).toEqual(expected);
  });

  it("renames a key column and swaps names without mixing values, through prepare's renamed map", async () => {
    // new_name (field 2, string) becomes score and score (field 3, int) becomes new_name: types travel with the ids
    await sink.prepare(v3, { renamed: { person_id: "id", score: "new_name", new_name: "score" } });
    await sink.write({ events: [{ op: "update", table, position: "6", key: { person_id: 2n }, after: { person_id: 2n, score: "two", new_name: 20 } }] });
    await sink.flush(checkpoint("6"));
    const schema = await currentSchema();
    expect(schema.fields.map((f) => [f.id, f.name])).toEqual([
      [1, "person_id"],
      [2, "score"],
      [3, "new_name"],
    ]);
    expect(schema["identifier-field-ids"]).toEqual([1]);
    // (icebird matches equality deletes by column name, not by field id, so it cannot read a renamed key back)
    expect(await viaFieldIds()).toEqual([
      { person_id: "1", score: "n1", new_name: "1" },
      { person_id: "2", score: "two", new_name: "20" },
      { person_id: "3", score: "n3", new_name: "3" },
      { person_id: "4", score: "n4", new_name: "4" },
    ]);
  });
});
