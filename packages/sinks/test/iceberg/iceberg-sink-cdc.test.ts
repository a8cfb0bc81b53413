import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import avsc from "avsc";
import { icebergRead } from "icebird";
import type { ChangeEvent, PipelineCheckpoint, Row } from "@zero-etl/core";
import {
  MANIFEST_FILE_SCHEMA,
  createIcebergSink,
  createLocalObjectStore,
  decodeManifest,
  decodeManifestList,
  listLiveFiles,
  manifestEntrySchema,
  readIcebergTable,
} from "@zero-etl/sinks/iceberg";
import type { IcebergSink, TableMetadata } from "@zero-etl/sinks/iceberg";
import { openDuckDb, orderRow, ordersSchema, plain, serveLocalFilesToFetch } from "./iceberg-test-kit.js";

const TABLE = { namespace: "public", name: "orders" };

function headerSchema(value: unknown): unknown {
  return Buffer.isBuffer(value) ? JSON.parse(value.toString("utf8")) : value;
}

function checkpoint(position: string): PipelineCheckpoint {
  return { pipeline: "cdc", phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() };
}

describe("iceberg sink: CDC on the filesystem catalog", () => {
  let warehouse: string;
  let sink: IcebergSink;
  const expected = new Map<string, Record<string, unknown>>();
  let restoreFetch: () => void;

  beforeAll(async () => {
    warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-cdc-"));
    restoreFetch = serveLocalFilesToFetch();
    sink = createIcebergSink({ warehouse, namespace: "lake" });
    expect(await sink.open({ pipeline: "cdc" })).toBeUndefined();
  });

  afterAll(async () => {
    restoreFetch();
    await sink.close();
    await rm(warehouse, { recursive: true, force: true });
  });

  const location = (): string => join(warehouse, "lake", "orders");

  async function ourRows(): Promise<Row[]> {
    const contents = await readIcebergTable({ store: createLocalObjectStore(), location: location() });
    return [...contents.rows].sort((a, b) => Number(a["id"]) - Number(b["id"]));
  }

  function expectedRows(): unknown[] {
    return [...expected.values()].sort((a, b) => Number(a["id"]) - Number(b["id"])).map(plain);
  }

  it("loads a snapshot and reads it back with our reader, icebird and DuckDB", async () => {
    await sink.prepare(ordersSchema());
    const rows = Array.from({ length: 200 }, (_, i) => orderRow(i + 1));
    for (const r of rows) expected.set(String(r["id"]), r);
    const receipt = await sink.writeSnapshot({ table: TABLE, schema: ordersSchema(), rows: rows as Row[], chunk: 0, last: true, rowsRead: 200 });
    expect(receipt).toEqual({ accepted: 200, rejected: [] });
    await sink.flush(checkpoint("0/100"));

    expect((await ourRows()).map(plain)).toEqual(expectedRows());

    const viaIcebird = (await icebergRead({ tableUrl: location() })) as Record<string, unknown>[];
    expect(viaIcebird).toHaveLength(200);
    const first = viaIcebird.find((r) => r["id"] === 1n);
    expect(first?.["name"]).toBe("name-1");
    expect(first?.["amount"]).toBeCloseTo(1.01);
    expect(first?.["qty"]).toBe(3);
    expect(first?.["tags"]).toEqual(["t1", null, "x"]);

    const duck = await openDuckDb();
    try {
      const meta = (await sink.describeTable(TABLE))?.metadata as TableMetadata;
      const { files } = await listLiveFiles(createLocalObjectStore(), meta);
      const path = files[0]?.file.file_path ?? "";
      const schemaRows = (await duck.connection.runAndReadAll(`SELECT name, type, field_id, logical_type FROM parquet_schema('${path}')`)).getRowObjectsJson();
      const byName = new Map(schemaRows.map((r) => [String(r["name"]), r]));
      expect(byName.get("id")).toMatchObject({ type: "INT64", field_id: "1" });
      expect(String(byName.get("amount")?.["logical_type"])).toContain("DecimalType(scale=2, precision=12)");
      expect(byName.get("big")).toMatchObject({ type: "FIXED_LEN_BYTE_ARRAY", field_id: "4" });
      expect(String(byName.get("ts")?.["logical_type"])).toMatch(/isAdjustedToUTC=1.*MICROS/);
      expect(String(byName.get("local_ts")?.["logical_type"])).toMatch(/isAdjustedToUTC=0.*MICROS/);
      expect(byName.get("uid")).toMatchObject({ type: "FIXED_LEN_BYTE_ARRAY", field_id: "12" });
      expect(byName.get("element")?.["field_id"]).toBe("15");
      const sums = (await duck.connection.runAndReadAll(`SELECT count(*)::INT AS n, sum(amount)::VARCHAR AS s, min(ts)::VARCHAR AS t, sum(qty)::INT AS q FROM read_parquet('${path}')`)).getRowObjectsJson();
      const amountSum = rows.reduce((a, r) => a + Math.round(Number(r["amount"]) * 100), 0) / 100;
      expect(sums[0]).toMatchObject({ n: 200, q: rows.reduce((a, r) => a + Number(r["qty"]), 0) });
      expect(Number(sums[0]?.["s"])).toBeCloseTo(amountSum, 2);
      expect(String(sums[0]?.["t"])).toMatch(/^2024-01-01 \d\d:00:00\.123456/);
    } finally {
      duck.close();
    }
  });

  it("folds updates and deletes per key into equality deletes plus new rows", async () => {
    const events: ChangeEvent[] = [
      { op: "update", table: TABLE, position: "0/201", key: { id: 5n }, after: { ...orderRow(5, "five") } as Row },
      { op: "delete", table: TABLE, position: "0/202", key: { id: 7n } },
      { op: "insert", table: TABLE, position: "0/203", after: orderRow(301) as Row },
      { op: "update", table: TABLE, position: "0/204", key: { id: 301n }, after: { ...orderRow(301, "three-oh-one") } as Row },
      { op: "insert", table: TABLE, position: "0/205", after: orderRow(302) as Row },
      { op: "delete", table: TABLE, position: "0/206", key: { id: 302n } },
      { op: "update", table: TABLE, position: "0/207", key: { id: 10n }, after: { ...orderRow(1010, "moved") } as Row },
      // Unchanged TOAST: `doc` and `blob` are not sent and must keep the committed values.
      { op: "update", table: TABLE, position: "0/208", key: { id: 11n }, after: (({ doc: _d, blob: _b, ...rest }) => ({ ...rest, name: "eleven" }))(orderRow(11)) as Row, unchanged: ["doc", "blob"] },
      { op: "insert", table: TABLE, position: "0/209", after: { ...orderRow(303), amount: "1.234" } as Row },
    ];
    const receipt = await sink.write({ events, checkpoint: "0/209" });
    expect(receipt.accepted).toBe(8);
    expect(receipt.rejected).toHaveLength(1);
    expect(receipt.rejected[0]?.reason).toContain("amount");
    expect(receipt.rejected[0]?.reason).not.toContain("1.234");
    await sink.flush(checkpoint("0/209"));

    expected.set("5", orderRow(5, "five"));
    expected.delete("7");
    expected.set("301", orderRow(301, "three-oh-one"));
    expected.delete("10");
    expected.set("1010", orderRow(1010, "moved"));
    expected.set("11", orderRow(11, "eleven"));
    expect((await ourRows()).map(plain)).toEqual(expectedRows());

    const viaIcebird = (await icebergRead({ tableUrl: location() })) as Record<string, unknown>[];
    const ids = viaIcebird.map((r) => Number(r["id"])).sort((a, b) => a - b);
    expect(ids).toEqual([...expected.keys()].map(Number).sort((a, b) => a - b));
    expect(viaIcebird.find((r) => r["id"] === 11n)?.["doc"]).toBe('{"n":11}');

    // DuckDB on the raw files: data rows minus keys deleted by a later sequence number.
    const meta = (await sink.describeTable(TABLE))?.metadata as TableMetadata;
    const { files } = await listLiveFiles(createLocalObjectStore(), meta);
    const dataSql = files.filter((f) => f.file.content === 0).map((f) => `SELECT id, name, ${f.dataSequenceNumber} AS seq FROM read_parquet('${f.file.file_path}')`);
    const delSql = files.filter((f) => f.file.content === 2).map((f) => `SELECT id, ${f.dataSequenceNumber} AS seq FROM read_parquet('${f.file.file_path}')`);
    expect(delSql.length).toBe(1);
    expect(files.find((f) => f.file.content === 2)?.file.equality_ids).toEqual([1]);
    const duck = await openDuckDb();
    try {
      const live = (
        await duck.connection.runAndReadAll(
          `WITH d AS (${dataSql.join(" UNION ALL ")}), x AS (${delSql.join(" UNION ALL ")})
           SELECT d.id::VARCHAR AS id, d.name FROM d WHERE NOT EXISTS (SELECT 1 FROM x WHERE x.id = d.id AND x.seq > d.seq) ORDER BY d.id`,
        )
      ).getRowObjectsJson();
      expect(live.map((r) => [r["id"], r["name"]])).toEqual(expectedRows().map((r) => [(r as Record<string, unknown>)["id"], (r as Record<string, unknown>)["name"]]));
    } finally {
      duck.close();
    }
  });

  it("evolves the schema with new field ids; old files stay readable", async () => {
    const evolved = ordersSchema([{ name: "note", type: { kind: "string" }, nullable: true }]);
    const wider = { ...evolved, columns: evolved.columns.map((c) => (c.name === "qty" ? { ...c, type: { kind: "int" as const, bits: 64 as const, signed: true } } : c)), version: 2 };
    await sink.write({ events: [{ op: "schema", table: TABLE, position: "0/300", schema: wider }] });
    await sink.write({ events: [{ op: "insert", table: TABLE, position: "0/301", after: { ...orderRow(400), qty: 12345678901n, note: "hello" } as Row }] });
    await sink.flush(checkpoint("0/301"));
    for (const v of expected.values()) v["note"] = null;
    for (const v of expected.values()) v["qty"] = BigInt(v["qty"] as number);
    expected.set("400", { ...orderRow(400), qty: 12345678901n, note: "hello" });

    const meta = (await sink.describeTable(TABLE))?.metadata as TableMetadata;
    expect(meta.schemas).toHaveLength(2);
    expect(meta["current-schema-id"]).toBe(1);
    const current = meta.schemas[1];
    expect(current?.fields.find((f) => f.name === "note")?.id).toBe(meta["last-column-id"]);
    expect(current?.fields.find((f) => f.name === "qty")?.type).toBe("long");
    expect(current?.fields.find((f) => f.name === "qty")?.id).toBe(9);
    expect((await ourRows()).map(plain)).toEqual(expectedRows());

    const viaIcebird = (await icebergRead({ tableUrl: location() })) as Record<string, unknown>[];
    expect(viaIcebird.find((r) => r["id"] === 400n)?.["note"]).toBe("hello");
    expect(viaIcebird).toHaveLength(expected.size);

    await expect(
      sink.prepare({ ...wider, columns: wider.columns.map((c) => (c.name === "name" ? { ...c, type: { kind: "int" as const, bits: 32 as const, signed: true } } : c)), version: 3 }),
    ).rejects.toMatchObject({ code: "schema-refused" });
  });

  it("writes metadata and manifests that follow the v2 spec", async () => {
    const meta = (await sink.describeTable(TABLE))?.metadata as TableMetadata;
    for (const field of ["format-version", "table-uuid", "location", "last-sequence-number", "last-updated-ms", "last-column-id", "schemas", "current-schema-id", "partition-specs", "default-spec-id", "last-partition-id", "sort-orders", "default-sort-order-id"]) {
      expect(meta).toHaveProperty([field]);
    }
    expect(meta["format-version"]).toBe(2);
    expect(meta.schemas[0]?.["identifier-field-ids"]).toEqual([1]);
    expect(meta.refs["main"]?.["snapshot-id"]).toBe(meta["current-snapshot-id"]);
    expect(meta["last-sequence-number"]).toBe(3);
    const snapshot = meta.snapshots.at(-1);
    expect(snapshot?.summary["zeroetl.pipeline"]).toBe("cdc");
    expect(JSON.parse(snapshot?.summary["zeroetl.checkpoint"] ?? "{}")).toMatchObject({ position: "0/301" });
    expect(meta["metadata-log"].length).toBeGreaterThan(0);
    expect(await readFile(join(location(), "metadata", "version-hint.text"), "utf8")).toMatch(/^\d+$/);

    // Decode the manifest list and manifests with the spec's own schemas via schema resolution.
    const listBytes = await readFile(snapshot?.["manifest-list"] ?? "");
    const specList = avsc.Type.forSchema(MANIFEST_FILE_SCHEMA as avsc.Schema);
    const list = decodeManifestList(listBytes);
    for (const m of list) expect(specList.isValid(m)).toBe(true);
    const listHeader = avsc.extractFileHeader(snapshot?.["manifest-list"] ?? "") as { meta: Record<string, Buffer> };
    const listSchema = headerSchema(listHeader.meta["avro.schema"]) as { fields: { name: string; "field-id": number }[] };
    expect(listSchema.fields.map((f) => [f.name, f["field-id"]])).toEqual(
      (MANIFEST_FILE_SCHEMA as { fields: { name: string; "field-id": number }[] }).fields.map((f) => [f.name, f["field-id"]]),
    );
    expect(listSchema.fields.find((f) => f.name === "min_sequence_number")?.["field-id"]).toBe(516);
    expect(listHeader.meta["sequence-number"]?.toString()).toBe("3");
    const decodedEntries = [];
    for (const m of list) {
      const { entries, metadata } = decodeManifest(await readFile(m.manifest_path));
      expect(Object.keys(metadata)).toEqual(expect.arrayContaining(["schema", "schema-id", "partition-spec", "partition-spec-id", "format-version", "content"]));
      const specEntry = avsc.Type.forSchema(manifestEntrySchema([]) as avsc.Schema);
      for (const e of entries) {
        expect(specEntry.isValid(e)).toBe(true);
        decodedEntries.push(e);
      }
      const entryHeader = avsc.extractFileHeader(m.manifest_path) as { meta: Record<string, Buffer> };
      const schemaJson = headerSchema(entryHeader.meta["avro.schema"]) as { fields: { name: string; "field-id": number; type: { fields?: { name: string; "field-id": number }[] } }[] };
      const dataFile = schemaJson.fields.find((f) => f.name === "data_file")?.type.fields ?? [];
      expect(dataFile.map((f) => [f.name, f["field-id"]])).toEqual([
        ["content", 134], ["file_path", 100], ["file_format", 101], ["partition", 102], ["record_count", 103], ["file_size_in_bytes", 104],
        ["column_sizes", 108], ["value_counts", 109], ["null_value_counts", 110], ["nan_value_counts", 137], ["lower_bounds", 125],
        ["upper_bounds", 128], ["key_metadata", 131], ["split_offsets", 132], ["equality_ids", 135], ["sort_order_id", 140],
      ]);
      expect(schemaJson.fields.map((f) => [f.name, f["field-id"]])).toEqual([["status", 0], ["snapshot_id", 1], ["sequence_number", 3], ["file_sequence_number", 4], ["data_file", 2]]);
    }
    const data = decodedEntries.find((e) => e.data_file.content === 0);
    expect(data?.data_file.lower_bounds?.find((b) => b.key === 1)?.value.length).toBe(8);
    expect(data?.data_file.value_counts?.length).toBeGreaterThan(5);
  });

  it("returns the stored checkpoint on open, and a replay of committed changes leaves the rows as they were", async () => {
    const again = createIcebergSink({ warehouse, namespace: "lake" });
    const stored = await again.open({ pipeline: "cdc" });
    expect(stored?.position).toBe("0/301");
    const evolved = ordersSchema([{ name: "note", type: { kind: "string" }, nullable: true }]);
    await again.prepare({ ...evolved, columns: evolved.columns.map((c) => (c.name === "qty" ? { ...c, type: { kind: "int" as const, bits: 64 as const, signed: true } } : c)) });
    // the last committed change, delivered again as a replay after a crash would
    await again.write({ events: [{ op: "insert", table: TABLE, position: "0/301", after: { ...orderRow(400), qty: 12345678901n, note: "hello" } as Row }] });
    await again.flush(checkpoint("0/301"));
    await again.close();
    expect((await ourRows()).map(plain)).toEqual(expectedRows());
  });

  it("compacts, expires snapshots and removes orphans without changing rows", async () => {
    const store = createLocalObjectStore();
    await store.put(join(location(), "data", "orphan.parquet"), Buffer.from("junk"));
    await sink.compactTable(TABLE);
    const meta = (await sink.describeTable(TABLE))?.metadata as TableMetadata;
    expect(meta.snapshots.at(-1)?.summary.operation).toBe("replace");
    const { files } = await listLiveFiles(store, meta);
    expect(files.every((f) => f.file.content === 0)).toBe(true);
    expect((await ourRows()).map(plain)).toEqual(expectedRows());
    const viaIcebird = (await icebergRead({ tableUrl: location() })) as Record<string, unknown>[];
    expect(viaIcebird).toHaveLength(expected.size);

    const expired = await sink.expireSnapshots({ olderThanMs: Date.now() + 1, retainLast: 1 });
    // every snapshot before the compaction, the replayed commit included; the compaction is retained
    expect(expired.snapshotsExpired).toBe(4);
    expect(expired.filesDeleted).toBeGreaterThan(0);
    // a young unreferenced file may be a commit in flight: spared
    expect((await sink.removeOrphanFiles({ olderThanMs: Date.now() - 3_600_000 })).filesDeleted).toBe(0);
    const orphans = await sink.removeOrphanFiles({ olderThanMs: Date.now() + 1 });
    expect(orphans.filesDeleted).toBe(1);
    expect(await store.get(join(location(), "data", "orphan.parquet"))).toBeUndefined();
    expect((await ourRows()).map(plain)).toEqual(expectedRows());
  });
});
