import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Client, CreateBucketCommand } from "@aws-sdk/client-s3";
import { icebergRead } from "icebird";
import type { PipelineCheckpoint, Row, TableSchema } from "@zero-etl/core";
import {
  CommitConflictError,
  commitSnapshot,
  createFilesystemCatalog,
  createGlueCatalog,
  createIcebergSink,
  createLocalObjectStore,
  createS3ObjectStore,
  readIcebergTable,
  toIcebergSchema,
} from "@zero-etl/sinks/iceberg";
import type { GlueClientLike, GlueTableInput, TableMetadata } from "@zero-etl/sinks/iceberg";
import { createTableMetadata } from "../../src/iceberg/table-metadata.js";

const schema: TableSchema = {
  table: { namespace: "app", name: "events" },
  columns: [
    { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "kind", type: { kind: "string" }, nullable: true },
    { name: "at", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
  ],
  primaryKey: ["id"],
  version: 1,
};
/** s3rver ships no type declarations; this is the slice the test uses. */
type S3rverConstructor = new (options: { address: string; port: number; silent: boolean; directory: string }) => { run(): Promise<unknown>; close(): Promise<void> };
const S3RVER_MODULE: string = "s3rver";

const cp = (position: string): PipelineCheckpoint => ({ pipeline: "cat", phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() });
const row = (id: number, kind = `k${id}`): Row => ({ id, kind, at: `2024-05-${String((id % 28) + 1).padStart(2, "0")}T00:00:00Z` });

describe("iceberg catalogs and storage", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "zetl-iceberg-cat-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("filesystem catalog: of two writers on the same base one conflicts and retries on a fresh base", async () => {
    const store = createLocalObjectStore();
    const warehouse = join(dir, "fs");
    const catalog = createFilesystemCatalog({ warehouse, store });
    const id = { namespace: "lake", name: "t" };
    const mapped = toIcebergSchema(schema, { unconstrainedDecimal: "decimal(38,10)" });
    const created = await catalog.createTable(id, createTableMetadata({ location: join(warehouse, "lake", "t"), schema: mapped.schema, lastColumnId: mapped.lastColumnId, partitionFields: [] }));
    // Writer A commits first on the shared base.
    await commitSnapshot({ catalog, store, id, base: created, change: { dataFiles: [], deleteFiles: [], summary: { who: "a" } } });
    // Writer B raw-commits on the stale base: the exclusive create of v2 refuses it.
    await expect(catalog.commitTable(id, { base: created, metadata: created.metadata, requirements: [], updates: [] })).rejects.toBeInstanceOf(CommitConflictError);
    // Through commitSnapshot, B retries on a fresh base and lands as v3 with A's snapshot as parent.
    const b = await commitSnapshot({ catalog, store, id, base: created, change: { dataFiles: [], deleteFiles: [], summary: { who: "b" } } });
    expect(b.metadataLocation).toMatch(/v3\.metadata\.json$/);
    expect(b.metadata.snapshots.map((s) => s.summary["who"])).toEqual(["a", "b"]);
    expect(b.metadata.snapshots[1]?.["parent-snapshot-id"]).toBe(b.metadata.snapshots[0]?.["snapshot-id"]);
    expect(b.metadata["last-sequence-number"]).toBe(2);
  });

  it("two sinks committing concurrently to one table both land", async () => {
    const warehouse = join(dir, "fs2");
    const a = createIcebergSink({ warehouse, namespace: "lake" });
    const b = createIcebergSink({ warehouse, namespace: "lake" });
    await a.open({ pipeline: "a" });
    await b.open({ pipeline: "b" });
    await a.prepare(schema);
    await b.prepare(schema);
    await a.write({ events: Array.from({ length: 20 }, (_, i) => ({ op: "insert" as const, table: schema.table, position: `a${i}`, after: row(i) })) });
    await b.write({ events: Array.from({ length: 20 }, (_, i) => ({ op: "insert" as const, table: schema.table, position: `b${i}`, after: row(100 + i) })) });
    await Promise.all([a.flush({ ...cp("a"), pipeline: "a" }), b.flush({ ...cp("b"), pipeline: "b" })]);
    const contents = await readIcebergTable({ store: createLocalObjectStore(), location: join(warehouse, "lake", "events") });
    expect(contents.rows.map((r) => r["id"]).sort((x, y) => Number(x) - Number(y))).toEqual([...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 100 + i)]);
    expect(contents.metadata.snapshots).toHaveLength(2);
  });

  describe("REST catalog against a test server implementing the Iceberg REST endpoints", () => {
    let server: Server;
    let uri: string;
    const tables = new Map<string, { metadata: TableMetadata; location: string; version: number }>();
    const namespaces = new Set<string>();
    const seenAuth: string[] = [];
    const store = createLocalObjectStore();

    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          void handle(req.method ?? "GET", req.url ?? "/", body, req.headers.authorization).then(([status, payload]) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(payload));
          });
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    async function persist(key: string, metadata: TableMetadata): Promise<[number, unknown]> {
      const t = tables.get(key);
      const version = (t?.version ?? 0) + 1;
      const location = join(metadata.location, "metadata", `v${version}.metadata.json`);
      await store.put(location, Buffer.from(JSON.stringify(metadata)));
      tables.set(key, { metadata, location, version });
      return [200, { "metadata-location": location, metadata }];
    }

    async function handle(method: string, url: string, body: string, auth: string | undefined): Promise<[number, unknown]> {
      seenAuth.push(auth ?? "");
      if (url.startsWith("/v1/config")) return [200, { defaults: {}, overrides: { prefix: "wh1" } }];
      const m = /^\/v1\/wh1\/namespaces(?:\/([^/]+)\/tables(?:\/([^/]+))?)?$/.exec(url);
      if (m === null) return [404, { error: { type: "NoSuchPathException" } }];
      const [, ns, name] = m;
      if (ns === undefined) {
        const req = JSON.parse(body) as { namespace: string[] };
        const n = req.namespace.join(".");
        if (namespaces.has(n)) return [409, { error: { type: "AlreadyExistsException" } }];
        namespaces.add(n);
        return [200, { namespace: req.namespace }];
      }
      if (name === undefined) {
        const req = JSON.parse(body) as { name: string; location: string; schema: TableMetadata["schemas"][number]; properties: Record<string, string> };
        const key = `${ns}.${req.name}`;
        if (tables.has(key)) return [409, { error: { type: "AlreadyExistsException" } }];
        const metadata = createTableMetadata({ location: req.location, schema: req.schema, lastColumnId: Math.max(...req.schema.fields.map((f) => f.id)), partitionFields: [], properties: req.properties });
        return persist(key, metadata);
      }
      const key = `${ns}.${name}`;
      const t = tables.get(key);
      if (t === undefined) return [404, { error: { type: "NoSuchTableException" } }];
      if (method === "GET") return [200, { "metadata-location": t.location, metadata: t.metadata }];
      const req = JSON.parse(body) as { requirements: Record<string, unknown>[]; updates: Record<string, unknown>[] };
      let md = t.metadata as TableMetadata & Record<string, unknown>;
      for (const r of req.requirements) {
        if (r["type"] === "assert-ref-snapshot-id" && (md.refs["main"]?.["snapshot-id"] ?? null) !== r["snapshot-id"]) return [409, { error: { type: "CommitFailedException" } }];
        if (r["type"] === "assert-table-uuid" && md["table-uuid"] !== r["uuid"]) return [409, { error: { type: "CommitFailedException" } }];
        if (r["type"] === "assert-current-schema-id" && md["current-schema-id"] !== r["current-schema-id"]) return [409, { error: { type: "CommitFailedException" } }];
      }
      for (const u of req.updates) {
        switch (u["action"]) {
          case "add-snapshot": {
            const s = u["snapshot"] as TableMetadata["snapshots"][number];
            md = { ...md, snapshots: [...md.snapshots, s], "last-sequence-number": s["sequence-number"], "snapshot-log": [...md["snapshot-log"], { "snapshot-id": s["snapshot-id"], "timestamp-ms": s["timestamp-ms"] }] };
            break;
          }
          case "set-snapshot-ref":
            md = { ...md, "current-snapshot-id": u["snapshot-id"] as number, refs: { ...md.refs, [u["ref-name"] as string]: { "snapshot-id": u["snapshot-id"] as number, type: "branch" } } };
            break;
          case "add-schema":
            md = { ...md, schemas: [...md.schemas, u["schema"] as TableMetadata["schemas"][number]], "last-column-id": u["last-column-id"] as number };
            break;
          case "set-current-schema":
            md = { ...md, "current-schema-id": u["schema-id"] === -1 ? (md.schemas.at(-1)?.["schema-id"] ?? 0) : (u["schema-id"] as number) };
            break;
          default:
            return [400, { error: { type: "BadRequestException", message: `unsupported ${String(u["action"])}` } }];
        }
      }
      md = { ...md, "last-updated-ms": Date.now(), "metadata-log": [...md["metadata-log"], { "metadata-file": t.location, "timestamp-ms": t.metadata["last-updated-ms"] }] };
      return persist(key, md);
    }

    it("creates, commits snapshots and evolves the schema through requirements and updates", async () => {
      const sink = createIcebergSink({ warehouse: join(dir, "rest"), namespace: "lake", catalog: { type: "rest", uri, token: "secret-token" } });
      await sink.open({ pipeline: "cat" });
      await sink.prepare(schema);
      await sink.write({ events: [1, 2, 3].map((i) => ({ op: "insert" as const, table: schema.table, position: `p${i}`, after: row(i) })) });
      await sink.flush(cp("p3"));
      await sink.write({ events: [{ op: "delete", table: schema.table, position: "p4", key: { id: 2 } }, { op: "update", table: schema.table, position: "p5", key: { id: 3 }, after: row(3, "changed") }] });
      await sink.flush(cp("p5"));
      const evolved: TableSchema = { ...schema, columns: [...schema.columns, { name: "extra", type: { kind: "bool" }, nullable: true }], version: 2 };
      await sink.prepare(evolved);
      await sink.write({ events: [{ op: "insert", table: schema.table, position: "p6", after: { ...row(9), extra: true } }] });
      await sink.flush(cp("p6"));

      const t = tables.get("lake.events");
      expect(t?.metadata.snapshots).toHaveLength(3);
      expect(t?.metadata["current-schema-id"]).toBe(1);
      expect(seenAuth.every((a) => a === "Bearer secret-token")).toBe(true);
      const contents = await readIcebergTable({ store, metadataLocation: t?.location ?? "" });
      expect(contents.rows.map((r) => [r["id"], r["kind"], r["extra"]]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
        [1, "k1", null],
        [3, "changed", null],
        [9, "k9", true],
      ]);
      // A stale base is refused by the server (assert-ref-snapshot-id) and surfaces as a conflict.
      const { createRestCatalog } = await import("@zero-etl/sinks/iceberg");
      const client = createRestCatalog({ uri, token: "secret-token" });
      const stale = { metadata: { ...(t?.metadata as TableMetadata), refs: {} }, metadataLocation: "x" };
      await expect(
        client.commitTable({ namespace: "lake", name: "events" }, { base: stale, metadata: stale.metadata, requirements: [{ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null }], updates: [] }),
      ).rejects.toBeInstanceOf(CommitConflictError);
      await sink.close();
    });
  });

  it("glue catalog: builds CreateTable and UpdateTable with metadata_location and previous_metadata_location", async () => {
    const calls: { op: string; input: { DatabaseName: string; TableInput: GlueTableInput; VersionId?: string } }[] = [];
    let current: { Parameters: Record<string, string>; VersionId: string } | undefined;
    const client: GlueClientLike = {
      async getTable() {
        return current;
      },
      async createTable(input) {
        calls.push({ op: "create", input });
        current = { Parameters: { ...input.TableInput.Parameters }, VersionId: "1" };
      },
      async updateTable(input) {
        calls.push({ op: "update", input });
        current = { Parameters: { ...input.TableInput.Parameters }, VersionId: String(Number(current?.VersionId ?? "0") + 1) };
      },
    };
    const warehouse = join(dir, "glue");
    const sink = createIcebergSink({ warehouse, namespace: "analytics", catalog: { type: "glue", client } });
    await sink.open({ pipeline: "cat" });
    await sink.prepare(schema);
    await sink.write({ events: [{ op: "insert", table: schema.table, position: "g1", after: row(1) }] });
    await sink.flush(cp("g1"));
    expect(calls.map((c) => c.op)).toEqual(["create", "update"]);
    const create = calls[0]?.input;
    expect(create?.DatabaseName).toBe("analytics");
    expect(create?.TableInput).toMatchObject({ Name: "events", TableType: "EXTERNAL_TABLE", Parameters: { table_type: "ICEBERG" }, StorageDescriptor: { Location: join(warehouse, "analytics.db", "events") } });
    expect(create?.TableInput.Parameters["metadata_location"]).toMatch(/\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/);
    const update = calls[1]?.input;
    expect(update?.VersionId).toBe("1");
    expect(update?.TableInput.Parameters["previous_metadata_location"]).toBe(create?.TableInput.Parameters["metadata_location"]);
    expect(update?.TableInput.Parameters["metadata_location"]).toMatch(/\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/);
    const contents = await readIcebergTable({ store: createLocalObjectStore(), metadataLocation: update?.TableInput.Parameters["metadata_location"] ?? "" });
    expect(contents.rows).toEqual([{ id: 1, kind: "k1", at: "2024-05-02T00:00:00.000000Z" }]);
    await sink.close();
  });

  it("S3 warehouse on s3rver, partitioned by day and bucket, read back by icebird and our reader", async () => {
    const s3dir = join(dir, "s3rver");
    const { default: S3rver } = (await import(S3RVER_MODULE)) as { default: S3rverConstructor };
    const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: s3dir });
    const address = (await s3.run()) as AddressInfo;
    const endpoint = `http://127.0.0.1:${address.port}`;
    const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
    const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    await client.send(new CreateBucketCommand({ Bucket: "lake" }));
    const realFetch = globalThis.fetch;
    globalThis.fetch = ((url: string | URL | Request, init?: RequestInit) =>
      realFetch(String(url).replace(/^https:\/\/([^./]+)\.s3\.amazonaws\.com\//, `${endpoint}/$1/`), init)) as typeof globalThis.fetch;
    try {
      const s3Options = { endpoint, region: "us-east-1", forcePathStyle: true, credentials, multipartThresholdBytes: 5 * 1024 * 1024 };
      const sink = createIcebergSink({
        warehouse: "s3://lake/wh",
        namespace: "db",
        s3: s3Options,
        partitionSpec: { events: [{ column: "at", transform: "day" }, { column: "id", transform: "bucket[4]" }] },
      });
      await sink.open({ pipeline: "s3" });
      await sink.prepare(schema);
      await sink.write({ events: Array.from({ length: 60 }, (_, i) => ({ op: "insert" as const, table: schema.table, position: `s${i}`, after: row(i) })) });
      await sink.flush(cp("s59"));
      await sink.write({ events: [{ op: "delete", table: schema.table, position: "s60", key: { id: 5 } }, { op: "update", table: schema.table, position: "s61", key: { id: 6 }, after: { ...row(6, "six"), at: "2024-06-30T00:00:00Z" } }] });
      await sink.flush(cp("s61"));

      const store = await createS3ObjectStore(s3Options);
      const contents = await readIcebergTable({ store, location: "s3://lake/wh/db/events" });
      const ids = contents.rows.map((r) => Number(r["id"])).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => i).filter((i) => i !== 5));
      expect(contents.rows.find((r) => r["id"] === 6)).toMatchObject({ kind: "six", at: "2024-06-30T00:00:00.000000Z" });
      const dataFiles = contents.files.filter((f) => f.file.content === 0);
      expect(dataFiles.length).toBeGreaterThan(4);
      expect(dataFiles.every((f) => f.specId === 1 && typeof f.file.partition["at_day"] === "number")).toBe(true);
      expect(contents.files.filter((f) => f.file.content === 2).every((f) => f.specId === 0)).toBe(true);
      expect(contents.metadata["partition-specs"][1]?.fields.map((f) => f.transform)).toEqual(["day", "bucket[4]"]);

      const viaIcebird = (await icebergRead({ tableUrl: "s3://lake/wh/db/events" })) as Record<string, unknown>[];
      expect(viaIcebird.map((r) => Number(r["id"])).sort((a, b) => a - b)).toEqual(ids);
      expect(viaIcebird.find((r) => r["id"] === 6)?.["kind"]).toBe("six");

      // A multipart upload (above the 5 MiB threshold) round-trips.
      const big = Buffer.alloc(11 * 1024 * 1024, 7);
      await store.put("s3://lake/wh/big.bin", big);
      expect(Buffer.compare(Buffer.from((await store.get("s3://lake/wh/big.bin")) ?? new Uint8Array()), big)).toBe(0);
      await sink.close();
    } finally {
      globalThis.fetch = realFetch;
      await s3.close();
    }
  });

  it("validates options with ConfigError paths", () => {
    expect(() => createIcebergSink({ warehouse: "relative/dir", namespace: "x" })).toThrow(/target\.warehouse/);
    expect(() => createIcebergSink({ warehouse: "/tmp/x", namespace: "bad-name" })).toThrow(/target\.namespace/);
    expect(() => createIcebergSink({ warehouse: "/tmp/x", namespace: "x", partitionSpec: { t: [{ column: "a", transform: "bucket[0]" }] } })).toThrow(/target\.partitionSpec\.t\[0\]\.transform/);
    expect(() => createIcebergSink({ warehouse: "/tmp/x", namespace: "x", catalog: { type: "rest", uri: "ftp://x" } })).toThrow(/target\.catalog\.uri/);
  });
});
