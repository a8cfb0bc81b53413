import { randomUUID } from "node:crypto";
import { ConfigError, ZeroEtlError, estimateRowBytes, silentLogger, tableKey } from "@zero-etl/core";
import type {
  ChangeBatch,
  FlushReceipt,
  PipelineCheckpoint,
  PreflightReport,
  RejectedRecord,
  Row,
  Sink,
  SinkCapabilities,
  SnapshotChunk,
  TableRef,
  TableSchema,
  Value,
  WriteReceipt,
} from "@zero-etl/core";
import { fromIcebergType } from "@zero-etl/mappers";
import { createFilesystemCatalog } from "./filesystem-catalog.js";
import { createGlueCatalog } from "./glue-catalog.js";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { IcebergCatalog, LoadedTable, TableIdentifier } from "./iceberg-catalog.js";
import { evolveIcebergSchema, offsetIcebergFieldIds, toIcebergSchema, type IcebergSchema } from "./iceberg-schema.js";
import type { IcebergField, IcebergType, IcebergTypeMappingOptions } from "./iceberg-schema.js";
import { ICEBERG_COMMIT_DEFAULTS, validateIcebergSinkOptions } from "./iceberg-sink-options.js";
import type { IcebergSinkOptions } from "./iceberg-sink-options.js";
import { readIcebergTable, rowKey } from "./iceberg-table-reader.js";
import type { IcebergTableContents } from "./iceberg-table-reader.js";
import { fromIcebergValue, mapEntries, toIcebergValue } from "./iceberg-value-codec.js";
import { createLocalObjectStore } from "./local-object-store.js";
import { MissingTableFileError } from "./missing-table-file-error.js";
import type { DataFileRecord } from "./manifest-codec.js";
import { joinLocation } from "./object-store.js";
import type { ObjectStore } from "./object-store.js";
import { writeParquetFile } from "./parquet-file-writer.js";
import type { EncodedRow, WrittenParquetFile } from "./parquet-file-writer.js";
import { createPartitionLayout } from "./partition-layout.js";
import type { PartitionLayout } from "./partition-layout.js";
import { parsePartitionTransform, isTransformApplicable } from "./partition-transform.js";
import { createRestCatalog } from "./rest-catalog.js";
import { createS3ObjectStore } from "./s3-object-store.js";
import { commitSnapshot } from "./snapshot-committer.js";
import type { PendingFile } from "./snapshot-committer.js";
import { compactIcebergTable, expireIcebergSnapshots, removeIcebergOrphanFiles } from "./table-maintenance.js";
import type { ExpireSnapshotsOptions, MaintenanceResult } from "./table-maintenance.js";
import { createTableMetadata, currentSchema, currentSnapshot, defaultSpec } from "./table-metadata.js";
import type { PartitionField, TableMetadata } from "./table-metadata.js";
import { findUnwritableRows, isRecordRejected } from "./unwritable-row-finder.js";
import { deepenListColumn, listDepth, untypedDimensionColumns, valueDimensions } from "./array-dimensions.js";

/** Summary keys the sink adds to every snapshot it commits. */
export const SUMMARY_PIPELINE = "zeroetl.pipeline";
/** The serialized {@link PipelineCheckpoint} in force when the snapshot was committed. */
export const SUMMARY_CHECKPOINT = "zeroetl.checkpoint";
/** The checkpoint's source position, for a quick replay check. */
export const SUMMARY_POSITION = "zeroetl.position";

/** What a schema change says beyond the new schema. */
export interface IcebergSchemaChange {
  /** New column name -> old name, for columns the source renamed (`SchemaChangeEvent.renamed`). */
  readonly renamed?: Readonly<Record<string, string>>;
}

/** The Iceberg sink: a {@link Sink} plus table maintenance. */
export interface IcebergSink extends Sink {
  /**
   * {@link Sink.prepare}; with `change.renamed`, renamed columns keep their
   * field ids (an Iceberg rename), so rows already written read back under
   * the new name. Without it a renamed column looks like a dropped one plus
   * a new one.
   */
  prepare(schema: TableSchema, change?: IcebergSchemaChange): Promise<void>;
  /** Rewrites a table's live rows (deletes applied) into fresh data files and drops its delete files (a `replace` snapshot). */
  compactTable(table: TableRef): Promise<MaintenanceResult>;
  /** Drops snapshots older than `olderThanMs` beyond the newest `retainLast`, and files only they referenced. */
  expireSnapshots(options: ExpireSnapshotsOptions): Promise<MaintenanceResult>;
  /**
   * Deletes files under the pipeline's table locations that no snapshot or
   * metadata file references and that were last written before
   * `olderThanMs` (younger ones may belong to a commit in flight).
   */
  removeOrphanFiles(options: { readonly olderThanMs: number }): Promise<MaintenanceResult>;
  /** The committed table (metadata and its location), for readers and tests. */
  describeTable(table: TableRef): Promise<LoadedTable | undefined>;
}

interface PendingChange {
  /** The new row, or null for a delete. */
  row: EncodedRow | null;
  readonly key: readonly unknown[];
  /** Field indexes whose value the source did not send (unchanged TOAST). */
  unchanged?: number[];
  /**
   * The key of the committed row that holds the `unchanged` values, when it
   * is not `key`: the row's key before a key-changing update.
   */
  unchangedFrom?: readonly unknown[];
  /** The source position of the change, for a dead letter should the row turn out unwritable at commit. */
  readonly position?: string;
}

interface TableState {
  readonly id: TableIdentifier;
  /** The source table, as dead letters name it. */
  table: TableRef;
  loaded: LoadedTable;
  fields: readonly IcebergField[];
  keyIndexes: readonly number[];
  layout: PartitionLayout;
  changes: Map<string, PendingChange>;
  appends: EncodedRow[];
  truncated: boolean;
  pendingRows: number;
  pendingBytes: number;
  /** Deletes by a subset of columns (`match: "columns"`), resolved against the committed rows at commit. */
  columnDeletes: ColumnDelete[];
  /** PostgreSQL array columns, whose dimensions the first non-empty value decides (see `array-dimensions.ts`). */
  untypedArrays: ReadonlySet<string>;
  /** Those of them that already took a non-empty value in this sink: their type is settled. */
  arraysSeen: Set<string>;
}

/** "Delete every row whose columns `indexes` equal `values`" (values encoded, compared by `rowKey`). */
interface ColumnDelete {
  readonly indexes: readonly number[];
  readonly values: string;
}

const BASE_CAPABILITIES: SinkCapabilities = Object.freeze({
  nestedData: "native",
  maxIdentifierLength: 255,
  upsert: true,
  transactionalDdl: false,
  checkpointsInTarget: true,
  keylessTables: true,
  // Iceberg changes a column's type only by its promotions (int -> long, float -> double, decimal precision)
  typeWidening: "promotions",
  renames: true,
});

/**
 * Creates the Apache Iceberg sink (format v2, Parquet data, merge-on-read CDC).
 *
 * Inserts become data files; updates and deletes become equality delete
 * files on the primary key plus the new row, folded per key so that a commit
 * costs O(batch). `flush(checkpoint)` commits one snapshot per changed table
 * whose summary carries the checkpoint, then writes
 * `<warehouse>/<namespace>/_zeroetl/<pipeline>.checkpoint.json`, which
 * `open` returns. A replay after a crash re-applies changes idempotently by key.
 */
export function createIcebergSink(options: IcebergSinkOptions): IcebergSink {
  const config = validateIcebergSinkOptions(options);
  const logger = (config.logger ?? silentLogger).child({ component: "iceberg-sink" });
  // no fixed decimal holds every value of a PostgreSQL `numeric` or a JSON number: exact text unless told otherwise
  const mapping: IcebergTypeMappingOptions = { unconstrainedDecimal: config.unconstrainedDecimal ?? "string" };
  const commitRows = config.commit?.rows ?? ICEBERG_COMMIT_DEFAULTS.rows;
  const commitBytes = config.commit?.bytes ?? ICEBERG_COMMIT_DEFAULTS.bytes;
  const commitSeconds = config.commit?.seconds ?? ICEBERG_COMMIT_DEFAULTS.seconds;
  // every flush is a commit (data files, manifests, a snapshot), so the
  // runtime flushes on the commit interval, not after its 1 s/50 ms linger
  const capabilities: SinkCapabilities = Object.freeze({
    ...BASE_CAPABILITIES,
    defaultBatch: Object.freeze({ maxRows: commitRows, maxBytes: commitBytes, maxWaitMs: commitSeconds * 1000, lingerMs: commitSeconds * 1000 }),
  });
  const targetFileBytes = config.targetFileSizeBytes ?? 128 * 1024 * 1024;
  const tables = new Map<string, TableState>();
  let store: ObjectStore | undefined;
  let catalog: IcebergCatalog | undefined;
  let pipeline = "default";
  let lastCheckpoint: PipelineCheckpoint | undefined;
  /** Records found unwritable at commit, for the next `flush` or `write` to return. */
  const lateRejected: RejectedRecord[] = [];

  const markerLocation = (): string => joinLocation(config.warehouse, config.namespace, "_zeroetl", `${pipeline}.checkpoint.json`);

  const ready = (): { store: ObjectStore; catalog: IcebergCatalog } => {
    if (store === undefined || catalog === undefined) throw new ZeroEtlError("iceberg sink used before open()", { code: "internal" });
    return { store, catalog };
  };

  const stateOf = (ref: TableRef): TableState => {
    const state = tables.get(tableKey(ref));
    if (state === undefined) throw new ZeroEtlError(`iceberg table ${tableKey(ref)} was not prepared`, { code: "internal", table: tableKey(ref) });
    return state;
  };

  const bind = (state: TableState, loaded: LoadedTable): void => {
    state.loaded = loaded;
    const schema = currentSchema(loaded.metadata);
    state.fields = schema.fields;
    const ids = schema["identifier-field-ids"] ?? [];
    state.keyIndexes = ids.map((id) => schema.fields.findIndex((f) => f.id === id));
    state.layout = createPartitionLayout(defaultSpec(loaded.metadata), schema.fields);
  };

  const partitionFields = (schema: TableSchema, fields: readonly IcebergField[]): PartitionField[] => {
    const wanted = config.partitionSpec?.[schema.table.name] ?? [];
    return wanted.map((p, i) => {
      const source = fields.find((f) => f.name === p.column);
      const transform = parsePartitionTransform(p.transform);
      if (source === undefined || typeof source.type !== "string" || transform === undefined || !isTransformApplicable(transform, source.type)) {
        throw new ConfigError(`target.partitionSpec.${schema.table.name}[${i}]`, `a top-level column whose type accepts ${p.transform}`);
      }
      const name = p.name ?? (transform.kind === "identity" ? p.column : `${p.column}_${p.transform.replace(/\[(\d+)\]/, "_$1")}`);
      return { "source-id": source.id, "field-id": 1000 + i, name, transform: p.transform };
    });
  };

  const encodeValue = (type: IcebergType, value: Value): unknown => {
    if (value === null || value === undefined) return null;
    if (typeof type === "string") return toIcebergValue(type, value);
    if (type.type === "list") {
      if (!Array.isArray(value)) throw new RangeError("a list column needs an array");
      return (value as readonly Value[]).map((v) => encodeValue(type.element, v));
    }
    if (type.type === "map") return mapEntries(value).map(([k, v]) => ({ key: encodeValue(type.key, k), value: encodeValue(type.value, v) }));
    if (typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) throw new RangeError(`a ${Array.isArray(value) ? "list" : typeof value} where a struct belongs`);
    const obj = value as Readonly<Record<string, Value>>;
    const out: Record<string, unknown> = {};
    for (const f of type.fields) {
      const v = encodeValue(f.type, obj[f.name] ?? null);
      if (v === null && f.required) throw new RangeError(`struct field ${f.name} is required but null`);
      out[f.name] = v;
    }
    return out;
  };

  const encodeRow = (state: TableState, row: Row, unchanged?: readonly string[]): { row: unknown[]; unchanged?: number[] } => {
    const out = new Array<unknown>(state.fields.length);
    let skipped: number[] | undefined;
    for (let i = 0; i < state.fields.length; i++) {
      const field = state.fields[i] as IcebergField;
      if (unchanged !== undefined && unchanged.includes(field.name)) {
        (skipped ??= []).push(i);
        out[i] = null;
        continue;
      }
      try {
        out[i] = encodeValue(field.type, row[field.name] ?? null);
      } catch (error) {
        throw new RangeError(`column ${field.name}: ${(error as Error).message}${arrayHint(state, field, row[field.name])}`);
      }
      if (typeof field.type !== "string" && state.untypedArrays.has(field.name) && !state.arraysSeen.has(field.name) && valueDimensions(out[i]) > 0) state.arraysSeen.add(field.name);
      if (field.required && out[i] === null) {
        const given = row[field.name];
        throw new RangeError(given === null || given === undefined ? `column ${field.name} is required but null` : `column ${field.name}: NaN and infinity have no iceberg decimal value and the column is required`);
      }
    }
    return skipped === undefined ? { row: out } : { row: out, unchanged: skipped };
  };

  /** Why an array value did not fit its column, when its dimensions are the reason. */
  const arrayHint = (state: TableState, field: IcebergField, value: Value | undefined): string => {
    if (!state.untypedArrays.has(field.name)) return "";
    const dims = valueDimensions(value);
    const depth = listDepth(field.type);
    if (dims === depth || dims === 0) return "";
    return ` (a ${dims}-dimensional array in a column typed with ${depth} list level${depth === 1 ? "" : "s"}: its dimensions were settled by its first non-empty value)`;
  };

  /**
   * Encodes a row; when it does not fit only because a PostgreSQL array
   * column's first non-empty value has more dimensions than the column, and
   * the table holds no rows yet (or is being replaced), the column becomes a
   * list of lists that deep first (a schema commit; see `array-dimensions.ts`).
   */
  const encodeRowTyped = (state: TableState, row: Row, unchanged?: readonly string[]): { row: unknown[]; unchanged?: number[] } | Promise<{ row: unknown[]; unchanged?: number[] }> => {
    try {
      // synchronous on the common path: no promise per row
      return encodeRow(state, row, unchanged);
    } catch (error) {
      if (!(error instanceof RangeError) || state.untypedArrays.size === 0) throw error;
      return deepenArrays(state, row).then((deepened) => {
        if (!deepened) throw error;
        return encodeRow(state, row, unchanged);
      });
    }
  };

  const deepenArrays = async (state: TableState, row: Row): Promise<boolean> => {
    const committedRows = Number(currentSnapshot(state.loaded.metadata)?.summary["total-records"] ?? "0");
    if (!state.truncated && committedRows > 0) return false;
    const deeper = state.fields
      .filter((f) => state.untypedArrays.has(f.name) && !state.arraysSeen.has(f.name))
      .map((f) => ({ name: f.name, depth: valueDimensions(row[f.name]), has: listDepth(f.type) }))
      .filter((c) => c.depth > c.has);
    if (deeper.length === 0) return false;
    const loaded = await retryConflicts(`deepen arrays of ${tableKey(state.table)}`, async () => {
      const current = (await ready().catalog.loadTable(state.id)) ?? state.loaded;
      const base = current.metadata;
      let next = { schema: currentSchema(base), lastColumnId: base["last-column-id"] };
      for (const c of deeper) next = deepenListColumn(next.schema, next.lastColumnId, c.name, c.depth);
      const schemaId = Math.max(...base.schemas.map((x) => x["schema-id"])) + 1;
      return commitCurrentSchema(state.id, current, { ...next.schema, "schema-id": schemaId }, next.lastColumnId);
    });
    bind(state, loaded);
    for (const c of deeper) state.arraysSeen.add(c.name);
    logger.info("iceberg array columns typed by their first value's dimensions", { table: tableKey(state.table), columns: deeper.map((c) => `${c.name}: ${c.depth}`) });
    return true;
  };

  const encodeKey = (state: TableState, key: Row): unknown[] =>
    state.keyIndexes.map((i) => {
      const field = state.fields[i] as IcebergField;
      const v = key[field.name];
      if (v === null || v === undefined) throw new RangeError(`key column ${field.name} is missing`);
      return encodeValue(field.type, v);
    });

  const keyOfRow = (state: TableState, row: readonly unknown[]): unknown[] => state.keyIndexes.map((i) => row[i]);

  /**
   * Buffers the new image of a row. Values the source did not send
   * (`unchanged`) come from the previous image of the row: `from`, the key
   * the row had before this change (its own key unless the update changed
   * it). When that image is in the buffer they are taken from it now;
   * otherwise they are read from the committed row with that key at commit
   * ({@link resolveUnchanged}).
   */
  const upsert = (state: TableState, encoded: { row: unknown[]; unchanged?: number[] }, position: string, from?: readonly unknown[]): void => {
    const key = keyOfRow(state, encoded.row);
    const k = rowKey(key);
    const source = from ?? key;
    const prior = state.changes.get(rowKey(source));
    if (encoded.unchanged !== undefined && prior?.row !== null && prior !== undefined) {
      // The previous image of this row is in the buffer: take the unchanged values from it.
      for (const i of encoded.unchanged) encoded.row[i] = (prior.row as EncodedRow)[i];
      const still = encoded.unchanged.filter((i) => prior.unchanged?.includes(i) ?? false);
      if (still.length === 0) state.changes.set(k, { row: encoded.row, key, position });
      else state.changes.set(k, { row: encoded.row, key, unchanged: still, unchangedFrom: prior.unchangedFrom ?? prior.key, position });
      return;
    }
    if (encoded.unchanged === undefined) state.changes.set(k, { row: encoded.row, key, position });
    else state.changes.set(k, from === undefined ? { row: encoded.row, key, unchanged: encoded.unchanged, position } : { row: encoded.row, key, unchanged: encoded.unchanged, unchangedFrom: from, position });
  };

  const retryConflicts = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!(error instanceof CommitConflictError) || attempt >= 8) throw error;
        logger.info("iceberg metadata conflict, retrying", { what, attempt });
      }
    }
  };

  const writeFile = async (state: TableState, file: WrittenParquetFile, content: 0 | 2, specId: number, partition: Readonly<Record<string, unknown>>, equalityIds: number[] | null): Promise<PendingFile> => {
    const { store: s } = ready();
    const path = joinLocation(state.loaded.metadata.location, "data", `${content === 0 ? "data" : "eq-delete"}-${randomUUID()}.parquet`);
    await s.put(path, file.bytes);
    const m = file.metrics;
    const entries = <V>(map: ReadonlyMap<number, V>): { key: number; value: V }[] => [...map].map(([key, value]) => ({ key, value }));
    const record: DataFileRecord = {
      content,
      file_path: path,
      file_format: "PARQUET",
      partition,
      record_count: m.recordCount,
      file_size_in_bytes: file.bytes.byteLength,
      column_sizes: entries(new Map([...m.columnSizes].map(([k, v]) => [k, Number(v)]))),
      value_counts: entries(new Map([...m.valueCounts].map(([k, v]) => [k, Number(v)]))),
      null_value_counts: entries(new Map([...m.nullValueCounts].map(([k, v]) => [k, Number(v)]))),
      nan_value_counts: entries(new Map([...m.nanValueCounts].map(([k, v]) => [k, Number(v)]))),
      lower_bounds: entries(new Map([...m.lowerBounds].map(([k, v]) => [k, Buffer.from(v)]))),
      upper_bounds: entries(new Map([...m.upperBounds].map(([k, v]) => [k, Buffer.from(v)]))),
      key_metadata: null,
      split_offsets: m.splitOffsets.map(Number),
      equality_ids: equalityIds,
      sort_order_id: content === 0 ? 0 : null,
    };
    return { specId, file: record };
  };

  /** Writes the data files of rows, split by partition and by the target size. */
  const writeDataFiles = async (state: TableState, rows: readonly EncodedRow[], bytesPerRow: number): Promise<PendingFile[]> => {
    const groups = new Map<string, { record: Readonly<Record<string, unknown>>; rows: EncodedRow[] }>();
    for (const row of rows) {
      const p = state.layout.partitionOf(row);
      let g = groups.get(p.key);
      if (g === undefined) {
        g = { record: p.record, rows: [] };
        groups.set(p.key, g);
      }
      g.rows.push(row);
    }
    const out: PendingFile[] = [];
    const perFile = Math.max(1, Math.floor(targetFileBytes / Math.max(1, bytesPerRow)));
    for (const g of groups.values()) {
      for (let start = 0; start < g.rows.length; start += perFile) {
        const slice = g.rows.slice(start, start + perFile);
        const file = writeParquetFile({ fields: state.fields, rows: slice, ...(config.rowGroupRows === undefined ? {} : { rowGroupRows: config.rowGroupRows }) });
        out.push(await writeFile(state, file, 0, state.layout.specId, g.record, null));
      }
    }
    return out;
  };

  /**
   * Writes the data files of `rows`; when the Parquet writer refuses one (a
   * value `write` could not check, such as a required column that only
   * became null at commit), the refused rows are found, dead-lettered
   * (their keys deleted, so no stale row stays) and the rest written. Files
   * of the failed attempt stay unreferenced (orphans) until orphan removal.
   */
  const writeWritableDataFiles = async (state: TableState, rows: EncodedRow[], bytesPerRow: number, checkpoint: PipelineCheckpoint | undefined): Promise<PendingFile[]> => {
    try {
      return await writeDataFiles(state, rows, bytesPerRow);
    } catch (error) {
      if (!isRecordRejected(error)) throw error;
      const bad = findUnwritableRows(state.fields, rows);
      if (bad.size === 0) throw error;
      const owners = new Map<EncodedRow, PendingChange>();
      for (const change of state.changes.values()) if (change.row !== null) owners.set(change.row, change);
      for (const [index, reason] of bad) {
        const row = rows[index] as EncodedRow;
        const owner = owners.get(row);
        if (owner !== undefined) {
          rejectAtCommit(state, owner, reason);
          owner.row = null;
        } else {
          rejectAtCommit(state, { row, key: keyOfRow(state, row), ...(checkpoint?.position === undefined ? {} : { position: checkpoint.position }) }, reason);
        }
      }
      const good = rows.filter((_row, i) => !bad.has(i));
      return good.length === 0 ? [] : writeDataFiles(state, good, bytesPerRow);
    }
  };

  /**
   * Keeps a change that turned out unwritable at commit for the dead-letter
   * queue (returned by the next `flush` or `write`), named by its table and
   * key with the reason; its values are not kept.
   */
  const rejectAtCommit = (state: TableState, change: PendingChange, reason: string): void => {
    const key: Record<string, Value> = {};
    state.keyIndexes.forEach((fieldIndex, i) => {
      const field = state.fields[fieldIndex] as IcebergField;
      key[field.name] = typeof field.type === "string" ? fromIcebergValue(field.type, change.key[i]) : null;
    });
    const position = change.position ?? "";
    const event = state.keyIndexes.length === 0 ? { op: "insert" as const, table: state.table, position, after: {} } : { op: "update" as const, table: state.table, position, key, after: key };
    lateRejected.push({ event, reason });
    logger.warn("a record could not be written at commit; dead-lettered", { table: tableKey(state.table), reason });
  };

  /** Takes the records rejected at commit so far. */
  const takeLateRejected = (): RejectedRecord[] => lateRejected.splice(0, lateRejected.length);

  /**
   * Reads a table's committed rows (only `keys`, when given). Metadata this
   * sink loaded earlier may name files that snapshot expiry has removed since
   * (`zeroetl maintain` beside the pipeline): then the table is reloaded and
   * read again.
   */
  const readCommitted = async (state: TableState, keys: ReadonlySet<string> | undefined): Promise<IcebergTableContents> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await readIcebergTable({ store: ready().store, metadataLocation: state.loaded.metadataLocation, ...(keys === undefined ? {} : { keys }) });
      } catch (error) {
        if (!(error instanceof MissingTableFileError) || attempt >= 5) throw error;
        const fresh = await ready().catalog.loadTable(state.id);
        if (fresh === undefined || fresh.metadataLocation === state.loaded.metadataLocation) throw error;
        logger.info("iceberg table changed underneath (maintenance?); reloaded", { table: `${state.id.namespace}.${state.id.name}` });
        bind(state, fresh);
      }
    }
  };

  /** Fills unchanged-TOAST values from the committed table (one scan of the table for the affected keys). */
  const resolveUnchanged = async (state: TableState): Promise<void> => {
    // change key -> key of the committed row that holds its unchanged values
    const wanted = new Map<string, string>();
    for (const [k, c] of state.changes) if (c.row !== null && c.unchanged !== undefined) wanted.set(k, c.unchangedFrom === undefined ? k : rowKey(c.unchangedFrom));
    if (wanted.size === 0) return;
    const current = await readCommitted(state, new Set(wanted.values()));
    const byKey = new Map<string, Row>();
    for (const row of current.rows) byKey.set(rowKey(encodeKey(state, row)), row);
    for (const [k, from] of wanted) {
      const change = state.changes.get(k);
      const row = change?.row;
      if (change === undefined || row === null || row === undefined) continue;
      const existing = byKey.get(from);
      const required = existing === undefined ? (change.unchanged ?? []).find((i) => (state.fields[i] as IcebergField).required) : undefined;
      if (required !== undefined) {
        // No value to keep and null is not allowed: the row cannot be written.
        // Its key is deleted (the source changed it; a stale row must not stay)
        // and the change goes to the dead-letter queue.
        const name = (state.fields[required] as IcebergField).name;
        rejectAtCommit(state, change, `column ${name} is required, but the source did not send its unchanged (TOAST) value and the table holds no row of this key to keep it from`);
        change.row = null;
        delete change.unchanged;
        delete change.unchangedFrom;
        continue;
      }
      for (const i of change.unchanged ?? []) {
        const field = state.fields[i] as IcebergField;
        (row as unknown[])[i] = existing === undefined ? null : encodeValue(field.type, existing[field.name] ?? null);
      }
      if (existing === undefined) logger.warn("unchanged column values not found in the table; written as null", { table: `${state.id.namespace}.${state.id.name}` });
      delete change.unchanged;
      delete change.unchangedFrom;
    }
  };

  /**
   * Records a delete by some columns: pending rows that match become deletes
   * now (they came earlier in the stream); committed rows that match are
   * found at commit by {@link resolveColumnDeletes}.
   */
  const addColumnDelete = (state: TableState, match: Row): void => {
    const indexes = Object.keys(match).map((name) => {
      const i = state.fields.findIndex((f) => f.name === name);
      if (i < 0) throw new RangeError(`delete by columns names unknown column ${name}`);
      return i;
    });
    const values = rowKey(indexes.map((i) => encodeValue((state.fields[i] as IcebergField).type, match[(state.fields[i] as IcebergField).name] ?? null)));
    for (const change of state.changes.values()) {
      if (change.row !== null && rowKey(indexes.map((i) => (change.row as unknown[])[i])) === values) change.row = null;
    }
    state.columnDeletes.push({ indexes, values });
  };

  /** Turns column deletes into key deletes for the committed rows they match, unless a later change of that key is pending. */
  const resolveColumnDeletes = async (state: TableState): Promise<void> => {
    if (state.columnDeletes.length === 0) return;
    const current = await readCommitted(state, undefined);
    for (const row of current.rows) {
      const encoded = state.fields.map((f) => encodeValue(f.type, row[f.name] ?? null));
      if (!state.columnDeletes.some((d) => rowKey(d.indexes.map((i) => encoded[i])) === d.values)) continue;
      const key = encodeKey(state, row);
      const k = rowKey(key);
      if (!state.changes.has(k)) state.changes.set(k, { row: null, key });
    }
    state.columnDeletes = [];
  };

  /** Commits a table's buffered changes as one snapshot carrying `checkpoint` (or the last flushed one). */
  const commitTable = async (state: TableState, checkpoint: PipelineCheckpoint | undefined): Promise<void> => {
    if (state.changes.size === 0 && state.appends.length === 0 && !state.truncated && state.columnDeletes.length === 0) return;
    const { store: s, catalog: c } = ready();
    const snapshot = currentSnapshot(state.loaded.metadata);
    // No "already committed" shortcut by position: the initial snapshot, a
    // resync and a set-aside table all flush several times at one position,
    // and a replay's batches need not match the original's. Replays are
    // harmless anyway: every change is applied by key (equality delete + row).
    if (!state.truncated) await resolveColumnDeletes(state);
    await resolveUnchanged(state);
    const rows: EncodedRow[] = [...state.appends];
    const keys: EncodedRow[] = [];
    for (const change of state.changes.values()) {
      keys.push(change.key);
      if (change.row !== null) rows.push(change.row);
    }
    const bytesPerRow = rows.length === 0 ? 1 : state.pendingBytes / Math.max(1, state.pendingRows);
    const dataFiles = rows.length === 0 ? [] : await writeWritableDataFiles(state, rows, bytesPerRow, checkpoint);
    const deleteFiles: PendingFile[] = [];
    const hasOlderData = !state.truncated && Number(snapshot?.summary["total-data-files"] ?? "0") > 0;
    if (hasOlderData && keys.length > 0) {
      const keyFields = state.keyIndexes.map((i) => state.fields[i] as IcebergField);
      const file = writeParquetFile({ fields: keyFields, rows: keys });
      deleteFiles.push(await writeFile(state, file, 2, 0, {}, keyFields.map((f) => f.id)));
    }
    const summary: Record<string, string> = { [SUMMARY_PIPELINE]: pipeline };
    const cp = checkpoint ?? lastCheckpoint;
    if (cp !== undefined) {
      summary[SUMMARY_CHECKPOINT] = JSON.stringify(cp);
      if (cp.position !== undefined) summary[SUMMARY_POSITION] = cp.position;
    }
    const loaded = await commitSnapshot({
      catalog: c,
      store: s,
      id: state.id,
      base: state.loaded,
      change: { dataFiles, deleteFiles, replaceAll: state.truncated, summary },
      logger,
    });
    bind(state, loaded);
    logger.debug("iceberg snapshot committed", { table: `${state.id.namespace}.${state.id.name}`, dataFiles: dataFiles.length, deleteFiles: deleteFiles.length, rows: rows.length });
    clearPending(state);
  };

  const clearPending = (state: TableState): void => {
    state.changes = new Map();
    state.appends = [];
    state.truncated = false;
    state.pendingRows = 0;
    state.pendingBytes = 0;
    state.columnDeletes = [];
  };

  const maybeCommitEarly = async (state: TableState): Promise<void> => {
    if (state.pendingRows >= commitRows || state.pendingBytes >= commitBytes) await commitTable(state, undefined);
  };

  const prepare = async (schema: TableSchema, change?: IcebergSchemaChange): Promise<void> => {
    const { catalog: c } = ready();
    const key = tableKey(schema.table);
    const existing = tables.get(key);
    if (existing !== undefined) await commitTable(existing, undefined);
    const id: TableIdentifier = { namespace: config.namespace, name: schema.table.name };
    const loaded = await retryConflicts(`prepare ${key}`, async () => {
      const current = await c.loadTable(id);
      if (current === undefined) {
        const mapped = toIcebergSchema(schema, mapping);
        const metadata = createTableMetadata({
          location: joinLocation(config.warehouse, config.namespace, schema.table.name),
          schema: mapped.schema,
          lastColumnId: mapped.lastColumnId,
          partitionFields: partitionFields(schema, mapped.schema.fields),
        });
        return c.createTable(id, metadata);
      }
      const base = current.metadata;
      const evolved = evolveIcebergSchema(currentSchema(base), base["last-column-id"], schema, mapping, change?.renamed);
      if (evolved === undefined) return current;
      logger.info("iceberg schema evolved", { table: key, schemaId: evolved.schema["schema-id"] });
      return commitCurrentSchema(id, current, evolved.schema, evolved.lastColumnId);
    });
    track(key, schema, id, loaded);
  };

  /** Commits `schema` as the table's new current schema, guarded against concurrent schema changes. */
  const commitCurrentSchema = (id: TableIdentifier, current: LoadedTable, schema: IcebergSchema, lastColumnId: number): Promise<LoadedTable> => {
    const base = current.metadata;
    return ready().catalog.commitTable(id, {
      base: current,
      metadata: {
        ...base,
        "last-updated-ms": Date.now(),
        "last-column-id": lastColumnId,
        schemas: [...base.schemas, schema],
        "current-schema-id": schema["schema-id"],
        "metadata-log": [...base["metadata-log"], { "metadata-file": current.metadataLocation, "timestamp-ms": base["last-updated-ms"] }],
      },
      requirements: [
        { type: "assert-table-uuid", uuid: base["table-uuid"] },
        { type: "assert-current-schema-id", "current-schema-id": base["current-schema-id"] },
        { type: "assert-last-assigned-field-id", "last-assigned-field-id": base["last-column-id"] },
      ],
      updates: [
        { action: "add-schema", schema, "last-column-id": lastColumnId },
        { action: "set-current-schema", "schema-id": -1 },
      ],
    });
  };

  /** Binds a table's state to its committed metadata, creating the state on first sight. */
  const track = (key: string, schema: TableSchema, id: TableIdentifier, loaded: LoadedTable): void => {
    const table = schema.table;
    const state: TableState = tables.get(key) ?? {
      id,
      table,
      loaded,
      fields: [],
      keyIndexes: [],
      layout: createPartitionLayout({ "spec-id": 0, fields: [] }, []),
      changes: new Map(),
      appends: [],
      truncated: false,
      pendingRows: 0,
      pendingBytes: 0,
      columnDeletes: [],
      untypedArrays: new Set(),
      arraysSeen: new Set(),
    };
    state.table = table;
    state.untypedArrays = untypedDimensionColumns(schema);
    bind(state, loaded);
    tables.set(key, state);
  };

  /**
   * Gives a table a new current schema built from scratch (fresh field ids
   * above every id used before) for a resync after a refused schema change;
   * the resync's `resetTable` then overwrites all its data, so no live data
   * file is read with the new schema. Tables with a partition spec keep
   * refusing: their spec names the old field ids.
   */
  const replaceTable = async (schema: TableSchema): Promise<void> => {
    const { catalog: c } = ready();
    const key = tableKey(schema.table);
    const existing = tables.get(key);
    if (existing !== undefined) clearPending(existing);
    if ((config.partitionSpec?.[schema.table.name] ?? []).length > 0) {
      throw new ZeroEtlError(`iceberg table ${key} is partitioned; it cannot take a replacing schema`, { code: "schema-refused", table: key });
    }
    const id: TableIdentifier = { namespace: config.namespace, name: schema.table.name };
    const fresh = toIcebergSchema(schema, mapping);
    const loaded = await retryConflicts(`replace ${key}`, async () => {
      // loaded inside the retry: a conflict means another writer moved the table on
      const current = await c.loadTable(id);
      if (current === undefined) return undefined;
      const base = current.metadata;
      const schemaId = Math.max(...base.schemas.map((x) => x["schema-id"])) + 1;
      return commitCurrentSchema(id, current, offsetIcebergFieldIds(fresh.schema, base["last-column-id"], schemaId), base["last-column-id"] + fresh.lastColumnId);
    });
    if (loaded === undefined) return prepare(schema);
    logger.warn("iceberg table given a replacing schema for a resync", { table: key });
    track(key, schema, id, loaded);
  };

  const reject = (rejected: RejectedRecord[], event: RejectedRecord["event"], error: unknown): void => {
    if (!(error instanceof RangeError)) throw error;
    rejected.push({ event, reason: error.message });
  };

  const sink: IcebergSink = {
    kind: "iceberg",
    capabilities,

    targetSchema(table: TableRef): TableSchema | undefined {
      const state = tables.get(tableKey(table));
      if (state === undefined) return undefined;
      const schema = currentSchema(state.loaded.metadata);
      const ids = new Set(schema["identifier-field-ids"] ?? []);
      return {
        table,
        columns: schema.fields.map((field) => ({ name: field.name, type: fromIcebergType(field.type), nullable: !field.required })),
        primaryKey: schema.fields.filter((field) => ids.has(field.id)).map((field) => field.name),
        version: schema["schema-id"],
      };
    },

    async preflight(): Promise<PreflightReport> {
      const checks = [];
      try {
        const s = store ?? config.store ?? (config.warehouse.startsWith("s3://") ? await createS3ObjectStore(config.s3 ?? {}) : createLocalObjectStore());
        const probe = joinLocation(config.warehouse, config.namespace, "_zeroetl", `preflight-${randomUUID()}.tmp`);
        await s.put(probe, Buffer.from("ok"));
        await s.delete(probe);
        checks.push({ id: "iceberg.warehouse-writable", ok: true, message: "the warehouse accepts writes and deletes" });
      } catch (error) {
        checks.push({
          id: "iceberg.warehouse-writable",
          ok: false,
          message: `the warehouse is not writable (${(error as Error).name})`,
          remedy: "grant write and delete on the warehouse location",
        });
      }
      return { component: "iceberg-sink", checks };
    },

    async open(context) {
      pipeline = context.pipeline;
      store = config.store ?? (config.warehouse.startsWith("s3://") ? await createS3ObjectStore(config.s3 ?? {}) : createLocalObjectStore());
      const cat = config.catalog ?? { type: "filesystem" as const };
      if (cat.type === "rest") {
        catalog = createRestCatalog({
          uri: cat.uri,
          ...(cat.warehouse === undefined ? {} : { warehouse: cat.warehouse }),
          ...(cat.token === undefined ? {} : { token: cat.token }),
          ...(cat.credential === undefined ? {} : { credential: cat.credential }),
        });
      } else if (cat.type === "glue") {
        catalog = createGlueCatalog({ client: cat.client, warehouse: config.warehouse, store });
      } else {
        catalog = createFilesystemCatalog({ warehouse: config.warehouse, store });
      }
      const marker = await store.get(markerLocation());
      if (marker === undefined) return undefined;
      lastCheckpoint = JSON.parse(Buffer.from(marker).toString("utf8")) as PipelineCheckpoint;
      return lastCheckpoint;
    },

    prepare,
    replaceTable,

    async dropTable(table) {
      const key = tableKey(table);
      const state = tables.get(key);
      if (state !== undefined) clearPending(state);
      const id = state?.id ?? { namespace: config.namespace, name: table.name };
      tables.delete(key);
      // a table moved to another schema keeps its name, and so its lake table: when the moved
      // table was re-read first (the move happened while the pipeline was stopped), the lake
      // table is already the new one's, and dropping it for the old name would lose its rows
      const owner = [...tables.entries()].find(([, other]) => other.id.namespace === id.namespace && other.id.name === id.name);
      if (owner !== undefined) {
        logger.info("iceberg table kept: another source table now writes it", { table: key, now: owner[0] });
        return;
      }
      await ready().catalog.dropTable(id);
      logger.warn("iceberg table dropped: its source table is gone", { table: key });
    },

    async resetTable(table) {
      const state = stateOf(table);
      clearPending(state);
      state.truncated = true;
      // the table's rows are replaced: its array columns' first values decide again
      state.arraysSeen.clear();
    },

    async writeSnapshot(chunk: SnapshotChunk): Promise<WriteReceipt> {
      const state = stateOf(chunk.table);
      const rejected: RejectedRecord[] = [];
      let accepted = 0;
      for (const row of chunk.rows) {
        try {
          const typed = encodeRowTyped(state, row);
          const encoded = typed instanceof Promise ? await typed : typed;
          if (state.keyIndexes.length === 0) state.appends.push(encoded.row);
          else upsert(state, encoded, `snapshot:${chunk.chunk}`);
          accepted++;
          state.pendingRows++;
          state.pendingBytes += estimateRowBytes(row);
        } catch (error) {
          reject(rejected, { op: "insert", table: chunk.table, position: `snapshot:${chunk.chunk}`, after: row }, error);
        }
      }
      await maybeCommitEarly(state);
      rejected.push(...takeLateRejected());
      return { accepted, rejected };
    },

    async write(batch: ChangeBatch): Promise<WriteReceipt> {
      const rejected: RejectedRecord[] = [];
      let accepted = 0;
      const touched = new Set<TableState>();
      for (const event of batch.events) {
        if (event.op === "schema") {
          await prepare(event.schema, event.renamed === undefined ? undefined : { renamed: event.renamed });
          accepted++;
          continue;
        }
        const state = stateOf(event.table);
        touched.add(state);
        try {
          switch (event.op) {
            case "insert": {
              const typed = encodeRowTyped(state, event.after);
              const encoded = typed instanceof Promise ? await typed : typed;
              if (state.keyIndexes.length === 0) state.appends.push(encoded.row);
              else upsert(state, encoded, event.position);
              state.pendingBytes += estimateRowBytes(event.after);
              break;
            }
            case "update": {
              if (state.keyIndexes.length === 0) throw new RangeError("updates need a primary key on an iceberg table");
              const typed = encodeRowTyped(state, event.after, event.unchanged);
              const encoded = typed instanceof Promise ? await typed : typed;
              const oldKey = encodeKey(state, event.key);
              const newKey = keyOfRow(state, encoded.row);
              if (rowKey(oldKey) === rowKey(newKey)) upsert(state, encoded, event.position);
              else {
                // the unchanged values are those of the row under its old key: take them before that key is deleted
                upsert(state, encoded, event.position, oldKey);
                state.changes.set(rowKey(oldKey), { row: null, key: oldKey });
              }
              state.pendingBytes += estimateRowBytes(event.after);
              break;
            }
            case "delete": {
              if (state.keyIndexes.length === 0) throw new RangeError("deletes need a primary key on an iceberg table");
              if (event.match === "columns") {
                addColumnDelete(state, event.key);
                state.pendingBytes += estimateRowBytes(event.key);
                break;
              }
              const key = encodeKey(state, event.key);
              state.changes.set(rowKey(key), { row: null, key });
              state.pendingBytes += estimateRowBytes(event.key);
              break;
            }
            case "truncate":
              clearPending(state);
              state.truncated = true;
              break;
          }
          state.pendingRows++;
          accepted++;
        } catch (error) {
          reject(rejected, event, error);
        }
      }
      for (const state of touched) await maybeCommitEarly(state);
      rejected.push(...takeLateRejected());
      return { accepted, rejected };
    },

    async flush(checkpoint): Promise<FlushReceipt> {
      const { store: s } = ready();
      try {
        for (const state of tables.values()) await commitTable(state, checkpoint);
      } catch (error) {
        // the runtime replays what this flush held, and the replay rejects those records again
        takeLateRejected();
        throw error;
      }
      // Written after every table commit: it is the resume point only once all tables hold the data.
      await s.put(markerLocation(), Buffer.from(JSON.stringify(checkpoint)));
      lastCheckpoint = checkpoint;
      return { rejected: takeLateRejected() };
    },

    async close() {
      tables.clear();
    },

    async compactTable(table) {
      const state = stateOf(table);
      await commitTable(state, undefined);
      const { store: s, catalog: c } = ready();
      // another writer may have committed since this sink last looked: compact the current table
      const fresh = await c.loadTable(state.id);
      if (fresh !== undefined) bind(state, fresh);
      const result = await compactIcebergTable({
        store: s,
        catalog: c,
        id: state.id,
        base: state.loaded,
        writeRows: async (rows) => writeDataFiles(state, rows.map((r) => encodeRow(state, r).row), 64),
        ...(lastCheckpoint === undefined ? {} : { summary: { [SUMMARY_PIPELINE]: pipeline, [SUMMARY_CHECKPOINT]: JSON.stringify(lastCheckpoint), ...(lastCheckpoint.position === undefined ? {} : { [SUMMARY_POSITION]: lastCheckpoint.position }) } }),
      });
      if (result.table !== undefined) bind(state, result.table);
      return result;
    },

    async expireSnapshots(expire) {
      const { store: s, catalog: c } = ready();
      let total: MaintenanceResult = { filesDeleted: 0, snapshotsExpired: 0 };
      for (const state of tables.values()) {
        // plan on the newest table: another process (the running pipeline) commits too
        const fresh = await c.loadTable(state.id);
        if (fresh !== undefined) bind(state, fresh);
        const r = await expireIcebergSnapshots({ store: s, catalog: c, id: state.id, base: state.loaded, ...expire });
        if (r.table !== undefined) bind(state, r.table);
        total = { filesDeleted: total.filesDeleted + r.filesDeleted, snapshotsExpired: total.snapshotsExpired + r.snapshotsExpired };
      }
      return total;
    },

    async removeOrphanFiles(orphans) {
      const { store: s, catalog: c } = ready();
      let filesDeleted = 0;
      for (const state of tables.values()) filesDeleted += (await removeIcebergOrphanFiles({ store: s, catalog: c, id: state.id, olderThanMs: orphans.olderThanMs })).filesDeleted;
      return { filesDeleted, snapshotsExpired: 0 };
    },

    async describeTable(table) {
      const state = tables.get(tableKey(table));
      if (state !== undefined) return state.loaded;
      return ready().catalog.loadTable({ namespace: config.namespace, name: table.name });
    },
  };
  return sink;
}

