import type { RawBuilder } from "kysely";
import { sql } from "kysely";
import type { ColumnSchema, LogicalType, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, formatLogicalType } from "@zero-etl/core";

/**
 * A PostgreSQL column type as this sink creates and compares it. Names are
 * the ones `format_type()` prints, so a type read back from the catalog
 * compares equal to the one compiled from a {@link LogicalType}.
 */
export type PgColumnType =
  | { readonly name: "smallint" | "integer" | "bigint" | "real" | "double precision" | "boolean" | "text" | "bytea" | "date" | "interval" | "uuid" | "jsonb" }
  | { readonly name: "numeric"; readonly precision?: number; readonly scale?: number }
  | { readonly name: "character varying"; readonly length?: number }
  | { readonly name: "time" | "timetz" | "timestamp" | "timestamptz"; readonly precision: number }
  /** A PostgreSQL array (any number of dimensions: the type does not record them). */
  | { readonly name: "array"; readonly element: PgColumnType }
  /** A target type this sink did not create (e.g. a column altered by hand); never altered. */
  | { readonly name: "other"; readonly text: string };

/** What to do with an existing target column when the source column's type changes. */
export type PgColumnChange =
  | { readonly action: "none" }
  /** Safe widening: `ALTER COLUMN ... TYPE`. */
  | { readonly action: "widen"; readonly to: PgColumnType }
  /** The target column already holds every value of the new type (a narrowing at the source): kept as is. */
  | { readonly action: "keep-wider" }
  /** The target column cannot hold the new type's values: not applied, reported as `schema-refused`. */
  | { readonly action: "refuse" };

const MAX_VARCHAR = 10_485_760;
const MAX_NUMERIC_PRECISION = 1000;
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Maps a logical type to the PostgreSQL column type this sink creates: a
 * PostgreSQL-native type (`type.native`, from a PostgreSQL source) as itself
 * when `nativeTypes` says the target has it; otherwise 64-bit integers to
 * `bigint`, unsigned 64-bit to `numeric(20,0)`, unsigned 32-bit to `bigint`,
 * 8/16-bit to `smallint` (unsigned 16 to `integer`), decimals to
 * `numeric(p,s)` or `numeric`, strings to `character varying(n)` or `text`,
 * bytes and geometry (WKB) to `bytea`, json, list and struct to `jsonb`,
 * times and timestamps keep their precision (at most 6).
 */
export function toPgColumnType(type: LogicalType, nativeTypes?: ReadonlySet<string>): PgColumnType {
  if (type.native !== undefined && type.native.dialect === "postgres" && nativeTypes?.has(type.native.name) === true) return parsePgColumnType(type.native.name);
  switch (type.kind) {
    case "bool":
      return { name: "boolean" };
    case "int":
      if (type.bits === 64) return type.signed ? { name: "bigint" } : { name: "numeric", precision: 20, scale: 0 };
      if (type.bits === 32) return type.signed ? { name: "integer" } : { name: "bigint" };
      if (type.bits === 16) return type.signed ? { name: "smallint" } : { name: "integer" };
      return { name: "smallint" };
    case "decimal":
      if (type.precision === undefined || type.precision < 1 || type.precision > MAX_NUMERIC_PRECISION) return { name: "numeric" };
      return { name: "numeric", precision: type.precision, scale: Math.max(0, Math.min(type.scale ?? 0, type.precision)) };
    case "float":
      return type.bits === 32 ? { name: "real" } : { name: "double precision" };
    case "string":
      if (type.maxLength !== undefined && type.maxLength >= 1 && type.maxLength <= MAX_VARCHAR && type.enumValues === undefined) {
        return { name: "character varying", length: type.maxLength };
      }
      return { name: "text" };
    case "bytes":
    case "geometry":
      return { name: "bytea" };
    case "date":
      return { name: "date" };
    case "time":
      return { name: type.withZone ? "timetz" : "time", precision: clampPrecision(type.precision) };
    case "timestamp":
      return { name: type.withZone ? "timestamptz" : "timestamp", precision: clampPrecision(type.precision) };
    case "interval":
      return { name: "interval" };
    case "uuid":
      return { name: "uuid" };
    case "json":
    case "list":
    case "struct":
    case "map":
      return { name: "jsonb" };
  }
}

/**
 * The logical type of a target column, the inverse of {@link toPgColumnType}
 * for the types this sink creates; a type it did not create reads as `string`.
 */
export function fromPgColumnType(type: PgColumnType): LogicalType {
  switch (type.name) {
    case "boolean":
      return { kind: "bool" };
    case "smallint":
      return { kind: "int", bits: 16, signed: true };
    case "integer":
      return { kind: "int", bits: 32, signed: true };
    case "bigint":
      return { kind: "int", bits: 64, signed: true };
    case "numeric":
      return type.precision === undefined ? { kind: "decimal" } : { kind: "decimal", precision: type.precision, scale: type.scale ?? 0 };
    case "real":
      return { kind: "float", bits: 32 };
    case "double precision":
      return { kind: "float", bits: 64 };
    case "character varying":
      return type.length === undefined ? { kind: "string" } : { kind: "string", maxLength: type.length };
    case "bytea":
      return { kind: "bytes" };
    case "date":
      return { kind: "date" };
    case "time":
    case "timetz":
      return { kind: "time", precision: type.precision, withZone: type.name === "timetz" };
    case "timestamp":
    case "timestamptz":
      return { kind: "timestamp", precision: type.precision, withZone: type.name === "timestamptz" };
    case "interval":
      return { kind: "interval" };
    case "uuid":
      return { kind: "uuid" };
    case "jsonb":
      return { kind: "json" };
    default:
      return { kind: "string" };
  }
}

function clampPrecision(precision: number): number {
  return Number.isInteger(precision) ? Math.max(0, Math.min(6, precision)) : 6;
}

/** Renders a column type as DDL and as `format_type()` prints it. */
export function renderPgColumnType(type: PgColumnType): string {
  switch (type.name) {
    case "numeric":
      return type.precision === undefined ? "numeric" : `numeric(${type.precision},${type.scale ?? 0})`;
    case "character varying":
      return type.length === undefined ? "character varying" : `character varying(${type.length})`;
    case "time":
      return `time(${type.precision}) without time zone`;
    case "timetz":
      return `time(${type.precision}) with time zone`;
    case "timestamp":
      return `timestamp(${type.precision}) without time zone`;
    case "timestamptz":
      return `timestamp(${type.precision}) with time zone`;
    case "array":
      return `${renderPgColumnType(type.element)}[]`;
    case "other":
      return type.text;
    default:
      return type.name;
  }
}

const SIMPLE_TYPES = new Set(["smallint", "integer", "bigint", "real", "double precision", "boolean", "text", "bytea", "date", "interval", "uuid", "jsonb"]);
const NUMERIC_TYPE = /^numeric(?:\((\d+),(-?\d+)\))?$/;
const VARCHAR_TYPE = /^character varying(?:\((\d+)\))?$/;
const TEMPORAL_TYPE = /^(time|timestamp)(?:\((\d)\))? (with|without) time zone$/;

/** Parses a `format_type(atttypid, atttypmod)` string read from the target's catalog. */
export function parsePgColumnType(text: string): PgColumnType {
  if (SIMPLE_TYPES.has(text)) return { name: text } as PgColumnType;
  if (text.endsWith("[]")) return { name: "array", element: parsePgColumnType(text.slice(0, -2)) };
  const numeric = NUMERIC_TYPE.exec(text);
  if (numeric !== null) {
    return numeric[1] === undefined ? { name: "numeric" } : { name: "numeric", precision: Number(numeric[1]), scale: Number(numeric[2]) };
  }
  const varchar = VARCHAR_TYPE.exec(text);
  if (varchar !== null) return varchar[1] === undefined ? { name: "character varying" } : { name: "character varying", length: Number(varchar[1]) };
  const temporal = TEMPORAL_TYPE.exec(text);
  if (temporal !== null) {
    const zoned = temporal[3] === "with";
    const precision = temporal[2] === undefined ? 6 : Number(temporal[2]);
    if (temporal[1] === "time") return { name: zoned ? "timetz" : "time", precision };
    return { name: zoned ? "timestamptz" : "timestamp", precision };
  }
  return { name: "other", text };
}

const INTEGER_DIGITS: Readonly<Record<string, number>> = { smallint: 5, integer: 10, bigint: 19 };
const INTEGER_RANK: Readonly<Record<string, number>> = { smallint: 1, integer: 2, bigint: 3 };
/** Types whose text form is the value itself and also a JSON value (a number or true/false). */
const JSON_SCALAR_TYPES = new Set(["smallint", "integer", "bigint", "numeric", "boolean"]);

/** True when every value of `inner` fits `outer` unchanged. */
export function isPgTypeContained(inner: PgColumnType, outer: PgColumnType): boolean {
  if (renderPgColumnType(inner) === renderPgColumnType(outer)) return true;
  // a schemaless attribute that changed type: the text (or JSON) form keeps every value exactly
  if (outer.name === "text" && (JSON_SCALAR_TYPES.has(inner.name) || inner.name === "character varying")) return true;
  if (outer.name === "jsonb" && JSON_SCALAR_TYPES.has(inner.name)) return true;
  const innerInt = INTEGER_RANK[inner.name];
  if (innerInt !== undefined) {
    const outerInt = INTEGER_RANK[outer.name];
    if (outerInt !== undefined) return outerInt >= innerInt;
    if (outer.name !== "numeric") return false;
    if (outer.precision === undefined) return true;
    return outer.precision - (outer.scale ?? 0) >= (INTEGER_DIGITS[inner.name] ?? Infinity);
  }
  switch (inner.name) {
    case "real":
      return outer.name === "double precision";
    case "numeric": {
      if (outer.name !== "numeric") return false;
      if (outer.precision === undefined) return true;
      if (inner.precision === undefined) return false;
      const innerScale = inner.scale ?? 0;
      const outerScale = outer.scale ?? 0;
      return outerScale >= innerScale && outer.precision - outerScale >= inner.precision - innerScale;
    }
    case "character varying":
      if (outer.name === "text") return true;
      if (outer.name !== "character varying") return false;
      if (outer.length === undefined) return true;
      return inner.length !== undefined && outer.length >= inner.length;
    case "time":
    case "timetz":
    case "timestamp":
    case "timestamptz":
      return outer.name === inner.name && outer.precision >= inner.precision;
    case "array":
      return outer.name === "array" && isPgTypeContained(inner.element, outer.element);
    default:
      return false;
  }
}

/**
 * Decides how an existing target column follows a source type change: safe
 * widenings (smallint → integer → bigint → numeric, real → double precision,
 * varchar(n) → varchar(m > n) → text, numeric(p,s) → a numeric that contains
 * it, higher time/timestamp precision, integers/numeric/boolean → text or
 * jsonb, text → jsonb as JSON strings) are applied; a target that already
 * holds the new type is kept; anything else is refused. Never narrows.
 */
export function planPgColumnChange(current: PgColumnType, desired: PgColumnType): PgColumnChange {
  if (renderPgColumnType(current) === renderPgColumnType(desired)) return { action: "none" };
  if (current.name === "other" || (current.name === "array" && current.element.name === "other")) return { action: "refuse" };
  if (isPgTypeContained(current, desired)) return { action: "widen", to: desired };
  // text becomes JSON strings (to_jsonb), so the column can hold the structures a schemaless attribute took on
  if (desired.name === "jsonb" && (current.name === "text" || current.name === "character varying")) return { action: "widen", to: desired };
  if (isPgTypeContained(desired, current)) return { action: "keep-wider" };
  return { action: "refuse" };
}

/** Where a compiled statement applies: the target schema and table names (unquoted). */
export interface PgTableName {
  readonly schema: string;
  readonly table: string;
}

/** Throws `schema-unsupported` for a name PostgreSQL would truncate or cannot hold. */
export function assertPgIdentifier(name: string, what: string): void {
  if (name.length === 0 || name.includes("\0") || Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new ZeroEtlError(`${what} ${JSON.stringify(name.slice(0, 80))} is not a valid PostgreSQL identifier (1 to ${MAX_IDENTIFIER_BYTES} bytes, no NUL)`, {
      code: "schema-unsupported",
    });
  }
}

/** `"schema"."table"`, quoted by kysely. */
export function pgTableRef(name: PgTableName): RawBuilder<unknown> {
  return sql`${sql.id(name.schema)}.${sql.id(name.table)}`;
}

/**
 * The PostgreSQL-native type names (`LogicalType.native`) of a schema's
 * columns, which a target may or may not have (`hstore` needs its extension).
 */
export function nativeTypeNames(schema: TableSchema): string[] {
  const names = new Set<string>();
  for (const column of schema.columns) if (column.type.native?.dialect === "postgres") names.add(column.type.native.name);
  return [...names];
}

function columnDefinition(column: ColumnSchema, notNull: boolean, nativeTypes: ReadonlySet<string> | undefined): RawBuilder<unknown> {
  const native = column.type.native;
  // a native type is created as the source spells it (`time with time zone[]`, not the equivalent `time(6) ...`)
  const usesNative = native !== undefined && native.dialect === "postgres" && nativeTypes?.has(native.name) === true;
  const type = sql.raw(usesNative ? native.name : renderPgColumnType(toPgColumnType(column.type, nativeTypes)));
  // a stored generated column is recreated as one when its type is the source's own; the sink never writes it
  const generated = usesNative && native.generatedAs !== undefined ? sql` GENERATED ALWAYS AS (${sql.raw(native.generatedAs)}) STORED` : sql``;
  return notNull ? sql`${sql.id(column.name)} ${type}${generated} NOT NULL` : sql`${sql.id(column.name)} ${type}${generated}`;
}

/**
 * `CREATE TABLE IF NOT EXISTS` for a source schema: every column with its
 * mapped type (native types the target has, from `nativeTypes`), NOT NULL
 * where the source says so (always on key columns), stored generated
 * columns as generated, and the primary key when the source has one.
 */
export function compileCreateTable(name: PgTableName, schema: TableSchema, nativeTypes?: ReadonlySet<string>): RawBuilder<unknown> {
  assertPgIdentifier(name.table, "table name");
  if (schema.columns.length === 0) throw new ZeroEtlError(`table ${name.table} has no columns`, { code: "schema-unsupported" });
  const key = new Set(schema.primaryKey);
  const parts: RawBuilder<unknown>[] = [];
  for (const column of schema.columns) {
    assertPgIdentifier(column.name, `column name of ${name.table}`);
    parts.push(columnDefinition(column, key.has(column.name) || !column.nullable, nativeTypes));
  }
  for (const k of schema.primaryKey) {
    if (!schema.columns.some((c) => c.name === k)) throw new ZeroEtlError(`primary key column ${k} of ${name.table} is not a column`, { code: "schema-unsupported" });
  }
  if (schema.primaryKey.length > 0) parts.push(sql`PRIMARY KEY (${sql.join(schema.primaryKey.map((k) => sql.id(k)))})`);
  return sql`CREATE TABLE IF NOT EXISTS ${pgTableRef(name)} (${sql.join(parts)})`;
}

/** `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`: always nullable, since existing rows have no value. */
export function compileAddColumn(name: PgTableName, column: ColumnSchema, nativeTypes?: ReadonlySet<string>): RawBuilder<unknown> {
  assertPgIdentifier(column.name, `column name of ${name.table}`);
  return sql`ALTER TABLE ${pgTableRef(name)} ADD COLUMN IF NOT EXISTS ${columnDefinition(column, false, nativeTypes)}`;
}

/** `ALTER TABLE ... ALTER COLUMN ... TYPE` for a widening planned by {@link planPgColumnChange}. */
export function compileWidenColumn(name: PgTableName, column: string, to: PgColumnType): RawBuilder<unknown> {
  // no cast from numbers, booleans or text to jsonb exists; to_jsonb keeps each value (text as a JSON string)
  if (to.name === "jsonb") return sql`ALTER TABLE ${pgTableRef(name)} ALTER COLUMN ${sql.id(column)} TYPE jsonb USING to_jsonb(${sql.id(column)})`;
  return sql`ALTER TABLE ${pgTableRef(name)} ALTER COLUMN ${sql.id(column)} TYPE ${sql.raw(renderPgColumnType(to))}`;
}

/** `ALTER TABLE ... RENAME COLUMN`, for a column the source renamed: its values stay. */
export function compileRenameColumn(name: PgTableName, from: string, to: string): RawBuilder<unknown> {
  assertPgIdentifier(to, `column name of ${name.table}`);
  return sql`ALTER TABLE ${pgTableRef(name)} RENAME COLUMN ${sql.id(from)} TO ${sql.id(to)}`;
}

/** `ALTER TABLE ... DROP COLUMN`, only for a column that holds no value (see the rename in the table syncer). */
export function compileDropEmptyColumn(name: PgTableName, column: string): RawBuilder<unknown> {
  return sql`ALTER TABLE ${pgTableRef(name)} DROP COLUMN IF EXISTS ${sql.id(column)}`;
}

/** `ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL`, for columns dropped at the source or made nullable there. */
export function compileDropNotNull(name: PgTableName, column: string): RawBuilder<unknown> {
  return sql`ALTER TABLE ${pgTableRef(name)} ALTER COLUMN ${sql.id(column)} DROP NOT NULL`;
}

/** Describes a logical type for messages, e.g. `int64 -> bigint`. */
export function describeTypeMapping(type: LogicalType): string {
  return `${formatLogicalType(type)} -> ${renderPgColumnType(toPgColumnType(type))}`;
}
