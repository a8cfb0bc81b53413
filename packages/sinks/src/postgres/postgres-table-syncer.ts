import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { TableSchema } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { PgColumnType, PgTableName } from "./postgres-ddl-compiler.js";
import {
  compileAddColumn,
  compileCreateTable,
  compileDropEmptyColumn,
  compileDropNotNull,
  compileRenameColumn,
  compileWidenColumn,
  nativeTypeNames,
  parsePgColumnType,
  planPgColumnChange,
  renderPgColumnType,
  toPgColumnType,
} from "./postgres-ddl-compiler.js";

import { createPgParameterEncoder, createTypedJsonEncoder, needsTypedJson, type PgParameterEncoder } from "./postgres-value-encoder.js";

type AnyDb = Kysely<any>;

/** A target table as its catalog describes it. */
export interface TargetTable {
  readonly name: PgTableName;
  /** Names of the columns rows are written to, in table order (generated columns are left out). */
  readonly columns: readonly string[];
  /** Stored generated columns: the target computes them, so a value a row carries for one is not written (a Kafka worker's rows carry the source's). */
  readonly generated: readonly string[];
  readonly types: ReadonlyMap<string, PgColumnType>;
  /** Each column's type without modifiers (`character varying`, `numeric`), as `format_type(oid, NULL)` spells it: for array casts that never truncate. */
  readonly baseTypes: ReadonlyMap<string, string>;
  /** Primary-key columns in key order; empty for a keyless table. */
  readonly primaryKey: readonly string[];
  /** Each written column's parameter encoder, chosen by its type (arrays, hstore, BC dates). */
  readonly encoders: ReadonlyMap<string, PgParameterEncoder>;
}

/** What {@link syncPgTable} did. */
export interface TableSyncResult {
  readonly target: TargetTable;
  /** DDL applied, described (`add column "x" bigint`). */
  readonly applied: readonly string[];
  /** Source changes not applied because the target already holds the new type (narrowings). */
  readonly keptWider: readonly string[];
  /** Source changes not applied because the target cannot hold the new type. */
  readonly refused: readonly string[];
}

interface CatalogColumn {
  readonly name: string;
  readonly type: string;
  readonly base_type: string;
  readonly not_null: boolean;
  readonly key_pos: number | null;
  readonly generated: boolean;
}

/** Reads a table's columns and primary key from the catalog; undefined when it does not exist. */
export async function readTargetTable(db: AnyDb, name: PgTableName): Promise<TargetTable | undefined> {
  const result = await sql<CatalogColumn>`
    SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, format_type(a.atttypid, NULL) AS base_type, a.attnotnull AS not_null, a.attgenerated <> '' AS generated,
      (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS key_pos
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE n.nspname = ${name.schema} AND c.relname = ${name.table} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum`.execute(db);
  if (result.rows.length === 0) return undefined;
  return toTargetTable(name, result.rows);
}

function toTargetTable(name: PgTableName, rows: readonly CatalogColumn[]): TargetTable & { readonly notNull: ReadonlySet<string> } {
  const types = new Map<string, PgColumnType>();
  const baseTypes = new Map<string, string>();
  const keyed: [number, string][] = [];
  const notNull = new Set<string>();
  const encoders = new Map<string, PgParameterEncoder>();
  const columns: string[] = [];
  const generated: string[] = [];
  for (const row of rows) {
    types.set(row.name, parsePgColumnType(row.type));
    baseTypes.set(row.name, row.base_type);
    if (row.key_pos !== null) keyed.push([Number(row.key_pos), row.name]);
    if (row.not_null) notNull.add(row.name);
    if (row.generated) {
      generated.push(row.name);
      continue;
    }
    columns.push(row.name);
    encoders.set(row.name, createPgParameterEncoder(row.base_type));
  }
  keyed.sort((a, b) => a[0] - b[0]);
  return { name, columns, generated, types, baseTypes, primaryKey: keyed.map(([, n]) => n), notNull, encoders };
}

/**
 * Brings a target table to a source schema: creates it when missing, adds
 * new columns (nullable), applies safe widenings, drops NOT NULL on columns
 * the source dropped or made nullable (dropped columns are kept: data is
 * never dropped). Narrowings and incompatible changes are left undone and
 * returned. Idempotent; runs on whatever executor it is given (a transaction
 * makes it atomic with the data).
 */
export async function syncPgTable(db: AnyDb, name: PgTableName, schema: TableSchema, renamed?: Readonly<Record<string, string>>): Promise<TableSyncResult> {
  const renames = renamed === undefined ? [] : await renameColumns(db, name, renamed);
  const result = await syncColumns(db, name, schema);
  const applied = renames.length === 0 ? result.applied : [...renames, ...result.applied];
  // the renamed columns must be read again even when nothing else changed
  const target = renames.length === 0 || result.applied.length > 0 ? result.target : ((await readCatalog(db, name)) ?? result.target);
  return { ...result, applied, target: withSchemaEncoders(target, schema) };
}

/**
 * Renames target columns the source renamed (`renamed`: new name -> old
 * name), so their values stay. Idempotent: an entry whose old column the
 * target no longer has is a replay and changes nothing. When both columns
 * exist, the new one was added by a `prepare` with the source's current
 * schema before the rename itself was replayed (a pipeline resumed after
 * the rename): it is dropped and the old one renamed, but only while it
 * holds no value and is not a key column; otherwise (a replay after the
 * rename, with the old name taken again since) both are kept as they are.
 * Returns what it did.
 */
async function renameColumns(db: AnyDb, name: PgTableName, renamed: Readonly<Record<string, string>>): Promise<string[]> {
  const existing = await readCatalog(db, name);
  if (existing === undefined) return [];
  const present = new Set(existing.types.keys());
  const applied: string[] = [];
  for (const [to, from] of Object.entries(renamed)) {
    if (to === from || !present.has(from)) continue;
    if (present.has(to)) {
      if (existing.primaryKey.includes(to) || (await holdsValues(db, name, to))) continue;
      await compileDropEmptyColumn(name, to).execute(db);
      applied.push(`drop empty column ${JSON.stringify(to)} (added before its rename was replayed)`);
    }
    await compileRenameColumn(name, from, to).execute(db);
    present.delete(from);
    present.add(to);
    applied.push(`rename column ${JSON.stringify(from)} to ${JSON.stringify(to)}`);
  }
  return applied;
}

/** Whether any row of the table has a non-null value in `column`. */
async function holdsValues(db: AnyDb, name: PgTableName, column: string): Promise<boolean> {
  const result = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM ${sql.id(name.schema, name.table)} WHERE ${sql.id(column)} IS NOT NULL) AS any`.execute(db);
  return result.rows[0]?.any === true;
}

/** Refines the encoders of `jsonb`/`json` columns that hold a list or struct with `json` or decimals inside, which only the schema tells. */
function withSchemaEncoders(target: TargetTable, schema: TableSchema): TargetTable {
  let encoders: Map<string, PgParameterEncoder> | undefined;
  for (const column of schema.columns) {
    const base = target.baseTypes.get(column.name);
    if ((base !== "jsonb" && base !== "json") || !needsTypedJson(column.type) || !target.encoders.has(column.name)) continue;
    encoders ??= new Map(target.encoders);
    encoders.set(column.name, createTypedJsonEncoder(column.type));
  }
  return encoders === undefined ? target : { ...target, encoders };
}

async function syncColumns(db: AnyDb, name: PgTableName, schema: TableSchema): Promise<TableSyncResult> {
  const existing = await readCatalog(db, name);
  const nativeTypes = await availableNativeTypes(db, schema);
  if (existing === undefined) {
    await compileCreateTable(name, schema, nativeTypes).execute(db);
    const created = await readCatalog(db, name);
    if (created === undefined) throw new Error(`table ${name.schema}.${name.table} is missing right after CREATE TABLE`);
    return { target: created, applied: [`create table for ${tableKey(schema.table)}`], keptWider: [], refused: [] };
  }
  const applied: string[] = [];
  const keptWider: string[] = [];
  const refused: string[] = [];
  const key = new Set(existing.primaryKey);
  const sourceColumns = new Set<string>();
  for (const column of schema.columns) {
    sourceColumns.add(column.name);
    const desired = toPgColumnType(column.type, nativeTypes);
    const current = existing.types.get(column.name);
    if (current === undefined) {
      await compileAddColumn(name, column, nativeTypes).execute(db);
      applied.push(`add column ${JSON.stringify(column.name)} ${renderPgColumnType(desired)}`);
      continue;
    }
    // a column created before native types were kept (text, jsonb) stays as it is: it holds every value
    const keptNeutral = column.type.native !== undefined && renderPgColumnType(current) === renderPgColumnType(toPgColumnType(column.type));
    const change = keptNeutral ? ({ action: "none" } as const) : planPgColumnChange(current, desired);
    const what = `column ${JSON.stringify(column.name)}: ${renderPgColumnType(current)} -> ${renderPgColumnType(desired)}`;
    if (change.action === "widen") {
      await compileWidenColumn(name, column.name, change.to).execute(db);
      applied.push(`widen ${what}`);
    } else if (change.action === "keep-wider") {
      keptWider.push(what);
    } else if (change.action === "refuse") {
      refused.push(what);
    }
    if (column.nullable && existing.notNull.has(column.name) && !key.has(column.name)) {
      await compileDropNotNull(name, column.name).execute(db);
      applied.push(`drop not null on ${JSON.stringify(column.name)}`);
    }
  }
  for (const column of existing.columns) {
    if (!sourceColumns.has(column) && existing.notNull.has(column) && !key.has(column)) {
      await compileDropNotNull(name, column).execute(db);
      applied.push(`drop not null on ${JSON.stringify(column)} (dropped at source)`);
    }
  }
  if (schema.primaryKey.join("\u0000") !== existing.primaryKey.join("\u0000")) {
    refused.push(`primary key (${schema.primaryKey.join(", ")}) differs from the target's (${existing.primaryKey.join(", ")}); the target's is kept`);
  }
  if (applied.length === 0) return { target: existing, applied, keptWider, refused };
  const after = await readCatalog(db, name);
  if (after === undefined) throw new Error(`table ${name.schema}.${name.table} vanished while altering it`);
  return { target: after, applied, keptWider, refused };
}

/** The native type names of `schema` that the target resolves (`to_regtype`): `hstore` only where its extension is installed. */
async function availableNativeTypes(db: AnyDb, schema: TableSchema): Promise<ReadonlySet<string>> {
  const names = nativeTypeNames(schema);
  if (names.length === 0) return new Set();
  const result = await sql<{ name: string }>`SELECT n AS name FROM unnest(${names}::text[]) AS n WHERE to_regtype(n) IS NOT NULL`.execute(db);
  return new Set(result.rows.map((r) => r.name));
}

async function readCatalog(db: AnyDb, name: PgTableName): Promise<(TargetTable & { readonly notNull: ReadonlySet<string> }) | undefined> {
  const table = await readTargetTable(db, name);
  return table as (TargetTable & { readonly notNull: ReadonlySet<string> }) | undefined;
}
