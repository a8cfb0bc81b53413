import { parquetMetadata, parquetReadObjects } from "hyparquet";
import type { FileMetaData, SchemaElement } from "hyparquet";
import { ZeroEtlError } from "@zero-etl/core";
import type { Row, Value } from "@zero-etl/core";
import type { IcebergField, IcebergMapType, IcebergSchema, IcebergType } from "./iceberg-schema.js";
import { bytesToBigInt, fromIcebergValue } from "./iceberg-value-codec.js";
import { MissingTableFileError } from "./missing-table-file-error.js";
import { joinLocation } from "./object-store.js";
import type { ObjectStore } from "./object-store.js";
import { listLiveFiles } from "./snapshot-committer.js";
import type { LiveFile } from "./snapshot-committer.js";
import { currentSchema } from "./table-metadata.js";
import type { TableMetadata } from "./table-metadata.js";

/** Options of {@link readIcebergTable}. */
export interface ReadIcebergTableOptions {
  readonly store: ObjectStore;
  /** A table location laid out by the filesystem catalog (the highest `vN.metadata.json` is read)... */
  readonly location?: string;
  /** ...or the exact metadata file, e.g. from a REST or Glue catalog. */
  readonly metadataLocation?: string;
  /** Keep only rows whose identifier-field key (as {@link rowKey} builds it) is in this set. */
  readonly keys?: ReadonlySet<string>;
}

/** A table read back: its metadata, current schema and live rows (logical values by column name). */
export interface IcebergTableContents {
  readonly metadata: TableMetadata;
  readonly schema: IcebergSchema;
  readonly rows: Row[];
  /** Live data files and delete files of the current snapshot. */
  readonly files: readonly LiveFile[];
}

const RAW_PARSERS = {
  timestampFromMilliseconds: (v: bigint) => v,
  timestampFromMicroseconds: (v: bigint) => v,
  timestampFromNanoseconds: (v: bigint) => v,
  dateFromDays: (v: number) => v,
  uuidFromBytes: (v: Uint8Array) => v,
};

/** Key of raw column values for equality matching: integers compare across int/long, bytes by hex. */
export function rowKey(values: readonly unknown[]): string {
  let out = "";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += "\u0000";
    if (v === null || v === undefined) out += "\u0001";
    else if (v instanceof Uint8Array) out += Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
    else out += String(v);
  }
  return out;
}

/** Loads the newest metadata of a filesystem-catalog table location. */
export async function loadTableMetadata(store: ObjectStore, location: string): Promise<{ metadata: TableMetadata; metadataLocation: string } | undefined> {
  const files = (await store.list(joinLocation(location, "metadata") + "/")).filter((f) => /\/v\d+\.metadata\.json$/.test(f));
  if (files.length === 0) return undefined;
  const version = (f: string): number => Number(/\/v(\d+)\.metadata\.json$/.exec(f)?.[1] ?? "0");
  const latest = files.reduce((a, b) => (version(b) > version(a) ? b : a));
  const bytes = await store.get(latest);
  if (bytes === undefined) return undefined;
  return { metadata: JSON.parse(Buffer.from(bytes).toString("utf8")) as TableMetadata, metadataLocation: latest };
}

/** Reads a Parquet file's rows with raw physical values (decimals unscaled, timestamps as micros), keyed by field id. */
export async function readParquetByFieldId(bytes: Uint8Array): Promise<{ rows: Map<number, unknown>[]; fieldIds: number[] }> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const meta: FileMetaData = parquetMetadata(buffer);
  // Strip decimal annotations so hyparquet hands back exact unscaled integers instead of floats.
  const schema: SchemaElement[] = meta.schema.map((e) => {
    if (e.converted_type !== "DECIMAL" && e.logical_type?.type !== "DECIMAL") return e;
    const { converted_type: _c, logical_type: _l, ...rest } = e;
    return rest;
  });
  const fieldIdByName = new Map<string, number>();
  const fixedDecimals = new Set<string>();
  let i = 1;
  const root = schema[0];
  for (let c = 0; c < (root?.num_children ?? 0); c++) {
    const e = schema[i];
    if (e === undefined) break;
    if (e.field_id !== undefined) fieldIdByName.set(e.name, e.field_id);
    if (meta.schema[i]?.converted_type === "DECIMAL" && e.type === "FIXED_LEN_BYTE_ARRAY") fixedDecimals.add(e.name);
    i = skipSubtree(schema, i);
  }
  const objects = (await parquetReadObjects({ file: buffer, metadata: { ...meta, schema }, utf8: false, parsers: RAW_PARSERS })) as Record<string, unknown>[];
  const rows = objects.map((o) => {
    const m = new Map<number, unknown>();
    for (const [name, id] of fieldIdByName) {
      const v = o[name];
      m.set(id, fixedDecimals.has(name) && v instanceof Uint8Array ? bytesToBigInt(v) : v);
    }
    return m;
  });
  return { rows, fieldIds: [...fieldIdByName.values()] };
}

function skipSubtree(schema: readonly SchemaElement[], index: number): number {
  const e = schema[index];
  let next = index + 1;
  for (let c = 0; c < (e?.num_children ?? 0); c++) next = skipSubtree(schema, next);
  return next;
}

/**
 * A map read from Parquet (hyparquet gives an object for string keys, or
 * key/value entries) as its logical value: the JSON text of an object.
 */
function mapToJsonText(type: IcebergMapType, raw: unknown): string {
  const entries: [unknown, unknown][] = Array.isArray(raw)
    ? (raw as { key: unknown; value: unknown }[]).map((e) => [e.key, e.value])
    : raw instanceof Map
      ? [...(raw as Map<unknown, unknown>)]
      : Object.entries(raw as Record<string, unknown>);
  const parts = entries.map(([k, v]) => {
    const key = rawToLogical(type.key, k);
    const value = rawToLogical(type.value, v);
    return `${JSON.stringify(String(key))}:${value === null ? "null" : JSON.stringify(typeof value === "bigint" ? value.toString() : value)}`;
  });
  return `{${parts.join(",")}}`;
}

/** Converts a raw nested value (list/map/struct) read from Parquet to its logical value. */
export function rawToLogical(type: IcebergType, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  if (typeof type === "string") {
    if (type === "string" && raw instanceof Uint8Array) return Buffer.from(raw).toString("utf8");
    return fromIcebergValue(type, raw);
  }
  if (type.type === "list") return (raw as unknown[]).map((v) => rawToLogical(type.element, v));
  if (type.type === "map") return mapToJsonText(type, raw);
  const out: Record<string, Value> = {};
  const obj = raw as Record<string, unknown>;
  for (const f of type.fields) out[f.name] = rawToLogical(f.type, obj[f.name]);
  return out;
}

/**
 * Reads the current snapshot of an Iceberg v2 table with merge-on-read
 * semantics: an equality delete removes a data row when all its equality
 * columns match and the data file's sequence number is strictly lower than
 * the delete file's (spec "Scan Planning"). Columns are matched by field id,
 * so files written under older schemas project onto the current one (missing
 * columns read as null). Our own reader: used by tests, by the sink for
 * unchanged-TOAST lookups and by compaction.
 */
export async function readIcebergTable(options: ReadIcebergTableOptions): Promise<IcebergTableContents> {
  const { store } = options;
  let metadata: TableMetadata;
  if (options.metadataLocation !== undefined) {
    const bytes = await store.get(options.metadataLocation);
    if (bytes === undefined) throw new ZeroEtlError(`iceberg metadata ${options.metadataLocation} not found`, { code: "sink-failed" });
    metadata = JSON.parse(Buffer.from(bytes).toString("utf8")) as TableMetadata;
  } else if (options.location !== undefined) {
    const loaded = await loadTableMetadata(store, options.location);
    if (loaded === undefined) throw new ZeroEtlError(`no iceberg table at ${options.location}`, { code: "sink-failed" });
    metadata = loaded.metadata;
  } else {
    throw new ZeroEtlError("readIcebergTable needs a location or a metadataLocation", { code: "config-invalid" });
  }
  const schema = currentSchema(metadata);
  const { files } = await listLiveFiles(store, metadata);

  // equality ids (as a string) -> key -> highest delete sequence number
  const deletes = new Map<string, { ids: number[]; keys: Map<string, number> }>();
  for (const f of files) {
    if (f.file.content !== 2) continue;
    const ids = [...(f.file.equality_ids ?? [])];
    const group = deletes.get(ids.join(",")) ?? { ids, keys: new Map<string, number>() };
    deletes.set(ids.join(","), group);
    const bytes = await store.get(f.file.file_path);
    if (bytes === undefined) throw new MissingTableFileError("delete file", f.file.file_path);
    const { rows } = await readParquetByFieldId(bytes);
    for (const r of rows) {
      const key = rowKey(ids.map((id) => r.get(id)));
      const prev = group.keys.get(key);
      if (prev === undefined || prev < f.dataSequenceNumber) group.keys.set(key, f.dataSequenceNumber);
    }
  }
  const identifier = [...(schema["identifier-field-ids"] ?? [])];
  const out: Row[] = [];
  const typeById = new Map<number, IcebergField>(schema.fields.map((f) => [f.id, f]));
  for (const f of files) {
    if (f.file.content !== 0) continue;
    const bytes = await store.get(f.file.file_path);
    if (bytes === undefined) throw new MissingTableFileError("data file", f.file.file_path);
    const { rows } = await readParquetByFieldId(bytes);
    rowLoop: for (const r of rows) {
      for (const group of deletes.values()) {
        const seq = group.keys.get(rowKey(group.ids.map((id) => r.get(id))));
        if (seq !== undefined && seq > f.dataSequenceNumber) continue rowLoop;
      }
      if (options.keys !== undefined && !options.keys.has(rowKey(identifier.map((id) => r.get(id))))) continue;
      const row: Record<string, Value> = {};
      for (const [id, field] of typeById) row[field.name] = rawToLogical(field.type, r.get(id));
      out.push(row);
    }
  }
  return { metadata, schema, rows: out, files };
}
