import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { createIcebergSink } from "@zero-etl/sinks/iceberg";
import type { IcebergSink } from "@zero-etl/sinks/iceberg";

// PyIceberg, the Iceberg project's own Python reader (installed by
// scripts/test-services.sh), reads a table whose column was renamed and
// whose struct column evolved: files written before the changes are read by
// field id. The table is keyless (appends only) because PyIceberg does not
// read equality deletes yet.
const script = join(dirname(fileURLToPath(import.meta.url)), "pyiceberg-read.py");
const run = promisify(execFile);

const point = (extra: readonly { name: string; type: { kind: "string" } }[]) =>
  ({ kind: "struct", fields: [{ name: "x", type: { kind: "int", bits: 32, signed: true }, nullable: true }, ...extra.map((f) => ({ ...f, nullable: true }))] }) as const;
const v1: TableSchema = {
  table: { namespace: "public", name: "events" },
  version: 1,
  primaryKey: [],
  columns: [
    { name: "seq", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "old_name", type: { kind: "string" }, nullable: true },
    { name: "day", type: { kind: "date" }, nullable: true },
    { name: "p", type: point([]), nullable: true },
  ],
};
const v2: TableSchema = {
  ...v1,
  version: 2,
  columns: [v1.columns[0], { name: "new_name", type: { kind: "string" }, nullable: true }, v1.columns[2], { name: "p", type: point([{ name: "label", type: { kind: "string" } }]), nullable: true }] as TableSchema["columns"],
};
const table = v1.table;
const checkpoint = (position: string): PipelineCheckpoint => ({ pipeline: "py", phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() });

describe("iceberg sink read by PyIceberg", () => {
  let warehouse: string;
  let sink: IcebergSink;
  beforeAll(async () => {
    warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-py-"));
  });
  afterAll(async () => {
    await sink?.close();
    await rm(warehouse, { recursive: true, force: true });
  });

  it("reads renamed columns, evolved structs and far dates by field id", async () => {
    sink = createIcebergSink({ warehouse, namespace: "lake" });
    await sink.open({ pipeline: "py" });
    await sink.prepare(v1);
    await sink.write({
      events: [
        { op: "insert", table, position: "1", after: { seq: 1n, old_name: "a", day: "5874897-12-31", p: { x: 1 } } },
        { op: "insert", table, position: "1", after: { seq: 2n, old_name: "b", day: "-4712-01-01", p: null } },
      ],
    });
    await sink.flush(checkpoint("1"));
    await sink.write({
      events: [
        { op: "schema", table, position: "2", schema: v2, previous: v1, renamed: { new_name: "old_name" } },
        { op: "insert", table, position: "3", after: { seq: 3n, new_name: "c", day: "1970-01-02", p: { x: 3, label: "three" } } },
      ],
    });
    await sink.flush(checkpoint("3"));
    const metadata = (await sink.describeTable(table))?.metadataLocation ?? "";
    const { stdout } = await run("python3", [script, metadata]);
    const read = JSON.parse(stdout) as { columns: string[]; rows: Record<string, unknown>[] };
    expect(read.columns).toEqual(["seq", "new_name", "day", "p"]);
    expect(read.rows.sort((a, b) => Number(a.seq) - Number(b.seq))).toEqual([
      { seq: 1, new_name: "a", day: 2_145_042_905, p: { x: 1, label: null } },
      { seq: 2, new_name: "b", day: -2_440_550, p: null },
      { seq: 3, new_name: "c", day: 1, p: { x: 3, label: "three" } },
    ]);
  });

  it("reads a map (hstore) and a PostgreSQL array column typed by its two-dimensional first value", async () => {
    const nested: TableSchema = {
      table: { namespace: "public", name: "nested" },
      version: 1,
      primaryKey: [],
      columns: [
        { name: "seq", type: { kind: "int", bits: 64, signed: true }, nullable: false },
        { name: "attrs", type: { kind: "map", key: { kind: "string" }, value: { kind: "string" }, native: { dialect: "postgres", name: "hstore" } }, nullable: true },
        { name: "grid", type: { kind: "list", element: { kind: "int", bits: 32, signed: true }, native: { dialect: "postgres", name: "integer[]" } }, nullable: true },
      ],
    };
    const ref = nested.table;
    const own = createIcebergSink({ warehouse, namespace: "lake" });
    await own.open({ pipeline: "py2" });
    await own.prepare(nested);
    const receipt = await own.write({
      events: [
        { op: "insert", table: ref, position: "1", after: { seq: 1n, attrs: '{"a":"1","b":null}', grid: [[1, 2], [3, null]] } },
        { op: "insert", table: ref, position: "1", after: { seq: 2n, attrs: "{}", grid: [] } },
        { op: "insert", table: ref, position: "1", after: { seq: 3n, attrs: null, grid: null } },
      ],
    });
    expect(receipt.rejected).toEqual([]);
    await own.flush(checkpoint("1"));
    const metadata = (await own.describeTable(ref))?.metadataLocation ?? "";
    await own.close();
    const { stdout } = await run("python3", [script, metadata]);
    const read = JSON.parse(stdout) as { columns: string[]; rows: Record<string, unknown>[] };
    expect(read.rows.sort((a, b) => Number(a.seq) - Number(b.seq))).toEqual([
      { seq: 1, attrs: [["a", "1"], ["b", null]], grid: [[1, 2], [3, null]] },
      { seq: 2, attrs: [], grid: [] },
      { seq: 3, attrs: null, grid: null },
    ]);
  });
});
