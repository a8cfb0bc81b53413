import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { createIcebergSink } from "@zero-etl/sinks/iceberg";
import type { IcebergSink } from "@zero-etl/sinks/iceberg";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "./iceberg-test-kit.js";

// Structured values (a PostgreSQL composite type arrives as a struct with
// typed fields) land as Iceberg structs, nested structs and lists of structs
// included, read back by DuckDB from the Parquet files and by icebird.
const address = {
  kind: "struct",
  fields: [
    { name: "street", type: { kind: "string" }, nullable: true },
    { name: "no", type: { kind: "int", bits: 32, signed: true }, nullable: true },
    { name: "price", type: { kind: "decimal", precision: 10, scale: 2 }, nullable: true },
    { name: "since", type: { kind: "date" }, nullable: true },
    { name: "geo", type: { kind: "struct", fields: [{ name: "lat", type: { kind: "float", bits: 64 }, nullable: true }] }, nullable: true },
  ],
} as const;
const v1: TableSchema = {
  table: { namespace: "public", name: "homes" },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "addr", type: address, nullable: true },
    { name: "past", type: { kind: "list", element: address }, nullable: true },
  ],
};
const table = v1.table;
const checkpoint = (position: string): PipelineCheckpoint => ({ pipeline: "st", phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() });

describe("iceberg sink: structured values", () => {
  let warehouse: string;
  let restoreFetch: () => void;
  let sink: IcebergSink;
  beforeAll(async () => {
    warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-struct-"));
    restoreFetch = serveLocalFilesToFetch();
  });
  afterAll(async () => {
    restoreFetch?.();
    await sink?.close();
    await rm(warehouse, { recursive: true, force: true });
  });

  it("lands structs as Iceberg structs with their own field ids", async () => {
    sink = createIcebergSink({ warehouse, namespace: "lake" });
    await sink.open({ pipeline: "st" });
    await sink.prepare(v1);
    await sink.write({
      events: [
        { op: "insert", table, position: "1", after: { id: 1n, addr: { street: "main st", no: 1, price: "12.50", since: "2020-02-29", geo: { lat: 1.5 } }, past: [{ street: "old", no: null, price: null, since: null, geo: null }] } },
        { op: "insert", table, position: "1", after: { id: 2n, addr: { street: null, no: 2, price: "-0.01", since: "-0043-03-15", geo: null }, past: [] } },
        { op: "insert", table, position: "1", after: { id: 3n, addr: null, past: null } },
      ],
    });
    await sink.flush(checkpoint("1"));
    const meta = (await sink.describeTable(table))?.metadata;
    const addr = meta?.schemas.at(-1)?.fields.find((f) => f.name === "addr");
    expect(addr?.type).toMatchObject({ type: "struct", fields: [{ name: "street", type: "string" }, { name: "no", type: "int" }, { name: "price", type: "decimal(10,2)" }, { name: "since", type: "date" }, { name: "geo", type: { type: "struct" } }] });

    const rows = (await readIcebergByFieldId(join(warehouse, "lake", "homes"))).sort((a, b) => Number(a.id) - Number(b.id));
    expect(rows).toEqual([
      { id: "1", addr: "{'street': main st, 'no': 1, 'price': 12.50, 'since': 2020-02-29, 'geo': {'lat': 1.5}}", past: "[{'street': old, 'no': NULL, 'price': NULL, 'since': NULL, 'geo': NULL}]" },
      { id: "2", addr: "{'street': NULL, 'no': 2, 'price': -0.01, 'since': '0044-03-15 (BC)', 'geo': NULL}", past: "[]" },
      { id: "3", addr: null, past: null },
    ]);
    // icebird leaves null values out of its objects
    const viaIcebird = (await icebergRead({ tableUrl: join(warehouse, "lake", "homes") })) as { id: bigint; addr?: { street?: string; no?: number; geo?: { lat: number } } }[];
    expect(viaIcebird.sort((a, b) => Number(a.id) - Number(b.id)).map((r) => (r.addr === undefined ? null : { street: r.addr.street ?? null, no: r.addr.no ?? null, geo: r.addr.geo ?? null }))).toEqual([
      { street: "main st", no: 1, geo: { lat: 1.5 } },
      { street: null, no: 2, geo: null },
      null,
    ]);
  });

  it("evolves a struct in place: a new field gets a new id, a promoted field keeps its id, a dropped one stays optional", async () => {
    // ALTER TYPE address ADD ATTRIBUTE zip text, DROP ATTRIBUTE price, ALTER ATTRIBUTE no TYPE bigint
    const evolved = {
      kind: "struct",
      fields: [
        { name: "street", type: { kind: "string" }, nullable: true },
        { name: "no", type: { kind: "int", bits: 64, signed: true }, nullable: true },
        { name: "since", type: { kind: "date" }, nullable: true },
        { name: "geo", type: { kind: "struct", fields: [{ name: "lat", type: { kind: "float", bits: 64 }, nullable: true }, { name: "lon", type: { kind: "float", bits: 64 }, nullable: true }] }, nullable: true },
        { name: "zip", type: { kind: "string" }, nullable: true },
      ],
    } as const;
    const v2: TableSchema = { ...v1, version: 2, columns: [v1.columns[0], { name: "addr", type: evolved, nullable: true }, { name: "past", type: { kind: "list", element: evolved }, nullable: true }] as TableSchema["columns"] };
    const before = (await sink.describeTable(table))?.metadata;
    const oldAddr = before?.schemas.at(-1)?.fields.find((f) => f.name === "addr")?.type;
    await sink.write({
      events: [
        { op: "schema", table, position: "2", schema: v2, previous: v1 },
        { op: "insert", table, position: "3", after: { id: 4n, addr: { street: "new st", no: 12345678901n, since: null, geo: { lat: 2, lon: 3 }, zip: "12345" }, past: null } },
      ],
    });
    await sink.flush(checkpoint("3"));
    const after = (await sink.describeTable(table))?.metadata;
    const newAddr = after?.schemas.at(-1)?.fields.find((f) => f.name === "addr")?.type;
    const idsOf = (t: unknown) => Object.fromEntries(((t as { fields: { name: string; id: number; type: unknown }[] }).fields).map((f) => [f.name, [f.id, typeof f.type === "string" ? f.type : "nested"]]));
    const was = idsOf(oldAddr);
    const now = idsOf(newAddr);
    expect(now["street"]).toEqual(was["street"]);
    expect(now["no"]).toEqual([was["no"]?.[0], "long"]);
    expect(now["price"]).toEqual(was["price"]);
    expect(now["zip"]?.[0]).toBeGreaterThan(Math.max(...Object.values(was).map((v) => Number(v[0]))));

    const rows = (await readIcebergByFieldId(join(warehouse, "lake", "homes"))).sort((a, b) => Number(a.id) - Number(b.id));
    expect(rows.map((r) => [r.id, r.addr])).toEqual([
      ["1", "{'street': main st, 'no': 1, 'since': 2020-02-29, 'geo': {'lat': 1.5, 'lon': NULL}, 'zip': NULL, 'price': 12.50}"],
      ["2", "{'street': NULL, 'no': 2, 'since': '0044-03-15 (BC)', 'geo': NULL, 'zip': NULL, 'price': -0.01}"],
      ["3", null],
      ["4", "{'street': new st, 'no': 12345678901, 'since': NULL, 'geo': {'lat': 2.0, 'lon': 3.0}, 'zip': 12345, 'price': NULL}"],
    ]);
  });
});
