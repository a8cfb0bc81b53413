import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { icebergManifests } from "icebird";
import { withLocalFetch } from "./local-file-fetch.js";
import type { TargetRows } from "./table-comparator.js";
import { canonicalValue, type CanonicalRow, type ColumnInfo, type ValueKind } from "./table-rows.js";

interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly type: unknown;
}

interface ParquetColumn {
  readonly name: string;
  readonly type: string | null;
  readonly converted: string | null;
  readonly logical: string | null;
  readonly children: number;
}

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
const dq = (name: string) => `"${name.replace(/"/g, '""')}"`;
const localPath = (p: string) => (p.startsWith("file://") ? decodeURIComponent(p.slice(7)) : p);

/** The DuckDB expression that reads a Parquet column for comparison as `kind`, given its Parquet schema entry. */
function duckExpression(column: ParquetColumn, kind: ValueKind): string {
  const c = dq(column.name);
  const logical = `${column.logical ?? ""} ${column.converted ?? ""}`.toUpperCase();
  if (kind === "float") return `CAST(CAST(${c} AS DOUBLE) AS VARCHAR)`;
  if (kind === "bytes") return logical.includes("UTF8") || logical.includes("STRING") ? `CAST(${c} AS VARCHAR)` : `lower(hex(${c}))`;
  if ((kind === "timestamp" || kind === "timestamptz") && logical.includes("TIMESTAMP")) return `strftime(CAST(${c} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%f')`;
  if (kind === "json" && column.children > 0) return `CAST(to_json(${c}) AS VARCHAR)`;
  return `CAST(${c} AS VARCHAR)`;
}

/** The top-level Parquet columns of a file by Iceberg field id. */
async function parquetColumns(duck: DuckDBConnection, path: string): Promise<Map<number, ParquetColumn>> {
  const reader = await duck.runAndReadAll(
    `SELECT name, type, converted_type, CAST(logical_type AS VARCHAR) AS logical, coalesce(num_children, 0) AS children, field_id FROM parquet_schema(${sqlString(path)})`,
  );
  const out = new Map<number, ParquetColumn>();
  for (const r of reader.getRowObjectsJS()) {
    if (r.field_id === null || r.field_id === undefined) continue;
    const id = Number(r.field_id);
    if (!out.has(id)) out.set(id, { name: String(r.name), type: r.type === null ? null : String(r.type), converted: r.converted_type === null ? null : String(r.converted_type), logical: r.logical === null ? null : String(r.logical), children: Number(r.children) });
  }
  return out;
}

/**
 * Reads the current snapshot of an Iceberg table independently of the
 * sink: the metadata JSON and `version-hint.text` directly, manifests
 * through icebird, each data and delete file through DuckDB's Parquet
 * reader with columns matched by Iceberg field id (so renamed columns
 * read right), equality deletes applied by data sequence number
 * (a delete applies to data files with a smaller sequence number) and
 * position deletes by file and row position. Returns undefined when the
 * table does not exist.
 */
export async function readIcebergRows(
  duck: DuckDBConnection,
  location: string,
  wanted: readonly { readonly name: string; readonly kind: ValueKind }[],
): Promise<TargetRows | undefined> {
  const metadataDir = join(location, "metadata");
  const version = await readFile(join(metadataDir, "version-hint.text"), "utf8").catch(() => undefined);
  if (version === undefined) return undefined;
  const metadata = JSON.parse(await readFile(join(metadataDir, `v${version.trim()}.metadata.json`), "utf8")) as {
    "current-schema-id": number;
    schemas: { "schema-id": number; fields: IcebergField[] }[];
    "current-snapshot-id"?: number | null;
  };
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
  const fields = new Map((schema?.fields ?? []).map((f) => [f.name, f]));
  const present: ColumnInfo[] = [];
  const read: { name: string; kind: ValueKind; id: number }[] = [];
  for (const w of wanted) {
    const f = fields.get(w.name);
    if (f === undefined) continue;
    present.push({ name: w.name, kind: w.kind, type: typeof f.type === "string" ? f.type : JSON.stringify(f.type) });
    read.push({ name: w.name, kind: w.kind, id: f.id });
  }
  const snapshotId = metadata["current-snapshot-id"];
  if (snapshotId === undefined || snapshotId === null || snapshotId < 0) return { present, rows: [] };
  const manifests = await withLocalFetch(() => icebergManifests(metadata as never));
  type Entry = { status: number; sequence_number: bigint | number; data_file: { content: number; file_path: string; equality_ids?: number[] | null } };
  const entries = manifests.flatMap((m) => m.entries as unknown as Entry[]).filter((e) => e.status !== 2);
  const kindById = new Map(read.map((r) => [r.id, r.kind]));

  // equality deletes: ids -> canonical values -> highest sequence number
  const equality = new Map<string, { ids: number[]; keys: Map<string, bigint> }>();
  const positions = new Map<string, { pos: bigint; seq: bigint }[]>();
  for (const e of entries) {
    const seq = BigInt(e.sequence_number);
    const path = localPath(e.data_file.file_path);
    if (e.data_file.content === 2) {
      const ids = [...(e.data_file.equality_ids ?? [])];
      const cols = await parquetColumns(duck, path);
      const exprs = ids.map((id) => {
        const col = cols.get(id);
        return col === undefined ? "NULL" : duckExpression(col, kindById.get(id) ?? "text");
      });
      const rows = (await duck.runAndReadAll(`SELECT ${exprs.map((x, i) => `${x} AS v${i}`).join(", ")} FROM read_parquet(${sqlString(path)})`)).getRowObjectsJS();
      const group = equality.get(ids.join(",")) ?? { ids, keys: new Map<string, bigint>() };
      for (const r of rows) {
        const key = JSON.stringify(ids.map((id, i) => canonicalValue(kindById.get(id) ?? "text", (r[`v${i}`] as string | null) ?? null)));
        const prev = group.keys.get(key);
        if (prev === undefined || prev < seq) group.keys.set(key, seq);
      }
      equality.set(ids.join(","), group);
    } else if (e.data_file.content === 1) {
      const rows = (await duck.runAndReadAll(`SELECT file_path, pos FROM read_parquet(${sqlString(path)})`)).getRowObjectsJS();
      for (const r of rows) {
        const list = positions.get(localPath(String(r.file_path))) ?? [];
        list.push({ pos: BigInt(r.pos as bigint), seq });
        positions.set(localPath(String(r.file_path)), list);
      }
    }
  }
  const equalityIds = new Set([...equality.values()].flatMap((g) => g.ids));
  const rows: CanonicalRow[] = [];
  for (const e of entries) {
    if (e.data_file.content !== 0) continue;
    const seq = BigInt(e.sequence_number);
    const path = localPath(e.data_file.file_path);
    const cols = await parquetColumns(duck, path);
    const extra = [...equalityIds].filter((id) => !read.some((r) => r.id === id));
    const selected = [...read.map((r) => ({ alias: `f${r.id}`, id: r.id, kind: r.kind })), ...extra.map((id) => ({ alias: `f${id}`, id, kind: "text" as ValueKind }))];
    const exprs = selected.map((s) => {
      const col = cols.get(s.id);
      return `${col === undefined ? "NULL" : duckExpression(col, s.kind)} AS ${s.alias}`;
    });
    const data = (await duck.runAndReadAll(`SELECT ${[...exprs, "file_row_number AS _pos"].join(", ")} FROM read_parquet(${sqlString(path)}, file_row_number = true)`)).getRowObjectsJS();
    const deletedPositions = positions.get(path);
    for (const r of data) {
      const canonical = new Map(selected.map((s) => [s.id, canonicalValue(s.kind, (r[s.alias] as string | null) ?? null)]));
      let deleted = deletedPositions?.some((d) => d.pos === BigInt(r._pos as bigint) && d.seq >= seq) ?? false;
      for (const g of equality.values()) {
        if (deleted) break;
        const at = g.keys.get(JSON.stringify(g.ids.map((id) => canonical.get(id) ?? null)));
        if (at !== undefined && at > seq) deleted = true;
      }
      if (deleted) continue;
      const row: Record<string, string | null> = {};
      for (const s of read) row[s.name] = canonical.get(s.id) ?? null;
      rows.push(row);
    }
  }
  return { present, rows };
}
