import { readFile, stat } from "node:fs/promises";
import { DuckDBInstance } from "@duckdb/node-api";
import type { DuckDBConnection } from "@duckdb/node-api";
import { icebergManifests, icebergMetadata } from "icebird";
import type { TableSchema } from "@zero-etl/core";

/** A logical schema covering most types the sink maps. */
export function ordersSchema(extra: TableSchema["columns"] = []): TableSchema {
  return {
    table: { namespace: "public", name: "orders" },
    columns: [
      { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
      { name: "name", type: { kind: "string" }, nullable: true },
      { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: true },
      { name: "big", type: { kind: "decimal", precision: 30, scale: 4 }, nullable: true },
      { name: "ts", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
      { name: "local_ts", type: { kind: "timestamp", precision: 6, withZone: false }, nullable: true },
      { name: "day", type: { kind: "date" }, nullable: true },
      { name: "flag", type: { kind: "bool" }, nullable: true },
      { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: true },
      { name: "ratio", type: { kind: "float", bits: 64 }, nullable: true },
      { name: "blob", type: { kind: "bytes" }, nullable: true },
      { name: "uid", type: { kind: "uuid" }, nullable: true },
      { name: "doc", type: { kind: "json" }, nullable: true },
      { name: "tags", type: { kind: "list", element: { kind: "string" } }, nullable: true },
      ...extra,
    ],
    primaryKey: ["id"],
    version: 1,
  };
}

/** A deterministic row of {@link ordersSchema}. */
export function orderRow(id: number, name = `name-${id}`): Record<string, unknown> {
  return {
    id: BigInt(id),
    name,
    amount: `${id}.${String(id % 100).padStart(2, "0")}`,
    big: `${id}12345678901234567890.0001`,
    ts: `2024-01-${String((id % 28) + 1).padStart(2, "0")}T10:00:00.123456Z`,
    local_ts: `2024-02-01T08:30:00.000001`,
    day: `2024-03-${String((id % 28) + 1).padStart(2, "0")}`,
    flag: id % 2 === 0,
    qty: id * 3,
    ratio: id / 4,
    blob: Uint8Array.of(id & 255, 1, 2),
    uid: `00000000-0000-4000-8000-${String(id).padStart(12, "0")}`,
    doc: `{"n":${id}}`,
    tags: id % 3 === 0 ? null : [`t${id}`, null, "x"],
  };
}

/**
 * Replaces `globalThis.fetch` so icebird can read a local warehouse: absolute
 * paths are served from disk (with Range and HEAD support); everything else
 * goes to the real fetch. Returns the restore function.
 */
export function serveLocalFilesToFetch(): () => void {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith("/")) return realFetch(input, init);
    let bytes: Buffer;
    try {
      bytes = await readFile(url);
    } catch {
      return new Response("not found", { status: 404 });
    }
    if (init?.method === "HEAD") {
      const s = await stat(url);
      return new Response(null, { status: 200, headers: { "content-length": String(s.size) } });
    }
    const range = new Headers(init?.headers).get("range");
    const m = range === null ? null : /bytes=(\d+)-(\d*)/.exec(range);
    if (m !== null) {
      const start = Number(m[1]);
      const end = m[2] === "" ? bytes.length - 1 : Number(m[2]);
      return new Response(bytes.subarray(start, end + 1), { status: 206, headers: { "content-length": String(end + 1 - start) } });
    }
    return new Response(bytes, { status: 200, headers: { "content-length": String(bytes.length) } });
  }) as typeof globalThis.fetch;
  return () => {
    globalThis.fetch = realFetch;
  };
}

/** An in-memory DuckDB connection with one thread. */
export async function openDuckDb(): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await connection.run("SET threads=1");
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Normalises values for comparison (bytes to hex, bigint to string). */
export function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, plain(v)]));
  return value;
}

/**
 * An independent merge-on-read of an Iceberg table that honours field ids:
 * icebird reads the metadata and manifests, DuckDB reads every data and
 * equality-delete file, each column found by its Parquet field id and named
 * as the current schema names it (so renamed columns read back under their
 * new name). Values come back as DuckDB's VARCHAR rendering (or its JSON
 * with `json`), rows in no particular order. Needs {@link serveLocalFilesToFetch} for local tables.
 */
export async function readIcebergByFieldId(tableUrl: string, options: { readonly json?: boolean } = {}): Promise<Record<string, string | null>[]> {
  const metadata = (await icebergMetadata({ tableUrl })) as unknown as {
    "current-schema-id": number;
    schemas: { "schema-id": number; fields: IcebergFieldLike[] }[];
  };
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
  if (schema === undefined) throw new Error("no current schema");
  const entries = (await icebergManifests(metadata as never))
    .flatMap((m) => m.entries)
    .filter((e) => e.status !== 2) as unknown as { sequence_number: bigint | number; data_file: { content: number; file_path: string; equality_ids?: number[] | null } }[];
  const duck = await openDuckDb();
  try {
    const read = async (path: string, fields: readonly IcebergFieldLike[]): Promise<Record<string, string | null>[]> => {
      const file = parseParquetSchema((await duck.connection.runAndReadAll(`SELECT name, field_id, num_children FROM parquet_schema('${path}')`)).getRowObjectsJson());
      const select = fields.map((f) => {
        const node = file.children.find((c) => c.id === f.id);
        if (node === undefined) return `NULL AS "${f.name}"`;
        const value = project(f.type, node, quote(node.name));
        return options.json === true ? `to_json(${value})::VARCHAR AS "${f.name}"` : `(${value})::VARCHAR AS "${f.name}"`;
      });
      return (await duck.connection.runAndReadAll(`SELECT ${select.join(", ")} FROM read_parquet('${path}')`)).getRowObjectsJson() as Record<string, string | null>[];
    };
    const deletes: { seq: number; fields: IcebergFieldLike[]; rows: Record<string, string | null>[] }[] = [];
    for (const e of entries.filter((x) => x.data_file.content === 2)) {
      const fields = (e.data_file.equality_ids ?? []).map((id) => schema.fields.find((f) => f.id === id) ?? { id, name: `#${id}`, type: "string" });
      deletes.push({ seq: Number(e.sequence_number), fields, rows: await read(e.data_file.file_path, fields) });
    }
    const out: Record<string, string | null>[] = [];
    for (const e of entries.filter((x) => x.data_file.content === 0)) {
      const seq = Number(e.sequence_number);
      for (const row of await read(e.data_file.file_path, schema.fields)) {
        const deleted = deletes.some((d) => d.seq > seq && d.rows.some((k) => d.fields.every((f) => k[f.name] === row[f.name])));
        if (!deleted) out.push(row);
      }
    }
    return out;
  } finally {
    duck.close();
  }
}

interface IcebergFieldLike {
  readonly id: number;
  readonly name: string;
  readonly type: unknown;
}

interface ParquetNode {
  readonly name: string;
  readonly id: number | undefined;
  readonly children: ParquetNode[];
}

/** The tree of a file's Parquet schema from DuckDB's `parquet_schema` rows (depth-first, `num_children` per group). */
function parseParquetSchema(rows: readonly Record<string, unknown>[]): ParquetNode {
  let next = 0;
  const take = (): ParquetNode => {
    const row = rows[next++] ?? {};
    const node: ParquetNode = { name: String(row.name), id: row.field_id === null || row.field_id === undefined ? undefined : Number(row.field_id), children: [] };
    const n = Number(row.num_children ?? 0);
    for (let i = 0; i < n; i++) node.children.push(take());
    return node;
  };
  return take();
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A DuckDB expression giving the value of Iceberg type `type` from the file's
 * column `node` at `expr`: struct fields and list elements are found by field
 * id, fields the file does not have are NULL, and names are the current ones.
 */
function project(type: unknown, node: ParquetNode, expr: string): string {
  if (typeof type !== "object" || type === null) return expr;
  const t = type as { type: string; fields?: IcebergFieldLike[]; "element-id"?: number; element?: unknown };
  if (t.type === "struct") {
    const parts = (t.fields ?? []).map((f) => {
      const child = node.children.find((c) => c.id === f.id);
      return `${quote(f.name)} := ${child === undefined ? "NULL" : project(f.type, child, `${expr}.${quote(child.name)}`)}`;
    });
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE struct_pack(${parts.join(", ")}) END`;
  }
  if (t.type === "list") {
    const element = node.children[0]?.children[0];
    if (element === undefined) return expr;
    return `list_transform(${expr}, x -> ${project(t.element, element, "x")})`;
  }
  return expr;
}
