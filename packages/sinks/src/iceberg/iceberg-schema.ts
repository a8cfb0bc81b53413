import { ZeroEtlError, formatLogicalType, tableKey } from "@zero-etl/core";
import type { LogicalType, TableSchema } from "@zero-etl/core";

/** An Iceberg list type as the spec's JSON serialization (Appendix C) spells it. */
export interface IcebergListType {
  readonly type: "list";
  readonly "element-id": number;
  readonly "element-required": boolean;
  readonly element: IcebergType;
}

/** An Iceberg map type (Appendix C): keys are always required, values optional unless `value-required`. */
export interface IcebergMapType {
  readonly type: "map";
  readonly "key-id": number;
  readonly key: IcebergType;
  readonly "value-id": number;
  readonly value: IcebergType;
  readonly "value-required": boolean;
}

/** An Iceberg struct type (Appendix C). */
export interface IcebergStructType {
  readonly type: "struct";
  readonly fields: readonly IcebergField[];
}

/** A primitive type string (`long`, `decimal(38,10)`, `timestamptz`) or a nested type. */
export type IcebergType = string | IcebergListType | IcebergMapType | IcebergStructType;

/** One field of a struct or schema, identified by its field id. */
export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
}

/** A table schema as stored in table metadata `schemas`. */
export interface IcebergSchema {
  readonly type: "struct";
  readonly "schema-id": number;
  readonly "identifier-field-ids"?: readonly number[];
  readonly fields: readonly IcebergField[];
}

/** How logical types without an Iceberg twin are mapped. */
export interface IcebergTypeMappingOptions {
  /**
   * Unconstrained decimals (PostgreSQL `numeric`, JSON and DynamoDB numbers): `decimal(38,10)`
   * (values with more digits are rejected to the dead-letter queue, never rounded)
   * or `string` (exact, but not numeric for readers; the sink's default). A
   * column that already has a decimal type keeps it under either.
   */
  readonly unconstrainedDecimal: "decimal(38,10)" | "string";
}

/** The result of mapping or evolving a schema: the schema and the highest field id assigned so far. */
export interface MappedIcebergSchema {
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
}

/**
 * Maps a logical table schema to a new Iceberg schema (schema id 0), assigning
 * field ids depth-first from 1. Primary-key columns become required identifier fields.
 */
export function toIcebergSchema(table: TableSchema, options: IcebergTypeMappingOptions): MappedIcebergSchema {
  const ids = { last: 0 };
  const fields: IcebergField[] = [];
  // Top-level ids first so that column ids stay small and stable; nested ids follow.
  const topIds = table.columns.map(() => ++ids.last);
  table.columns.forEach((column, index) => {
    const isKey = table.primaryKey.includes(column.name);
    fields.push({
      id: topIds[index] ?? 0,
      name: column.name,
      required: isKey || !column.nullable,
      type: mapLogicalType(column.type, ids, options, `${tableKey(table.table)}.${column.name}`),
    });
  });
  const identifier = table.primaryKey.map((name) => fields.find((f) => f.name === name)?.id ?? 0);
  return {
    schema: { type: "struct", "schema-id": 0, ...(identifier.length > 0 ? { "identifier-field-ids": identifier } : {}), fields },
    lastColumnId: ids.last,
  };
}

/**
 * Brings an Iceberg schema to a new logical schema: new columns get new ids
 * (`lastColumnId + 1` on), allowed promotions (int->long, float->double,
 * decimal precision widening, required->optional) change the type in place,
 * and columns the source dropped stay as optional columns (unless a new or
 * renamed column takes their name). `renamed` (new name -> old name, as
 * `SchemaChangeEvent.renamed`) renames a field in place: it keeps its field
 * id, so rows already written read back under the new name; an entry whose
 * old name the table no longer has (a replayed rename) is ignored. Anything
 * else throws `schema-refused`. Returns undefined when nothing changes.
 */
export function evolveIcebergSchema(
  current: IcebergSchema,
  lastColumnId: number,
  next: TableSchema,
  options: IcebergTypeMappingOptions,
  renamed: Readonly<Record<string, string>> = {},
): MappedIcebergSchema | undefined {
  const table = tableKey(next.table);
  const ids = { last: lastColumnId };
  let changed = false;
  const byName = new Map(current.fields.map((f) => [f.name, f]));
  const existingFor = (name: string): IcebergField | undefined => {
    const from = Object.hasOwn(renamed, name) ? renamed[name] : undefined;
    const old = from === undefined ? undefined : byName.get(from);
    if (old !== undefined) {
      // Both names present, the new name's field not renamed away itself (no
      // swap), and the old name's field the newer one: the old name was taken
      // again after the rename (a replay with the old shape after a re-read
      // under the new name), so the rename already happened and the field
      // with the new name keeps its id and values.
      const taken = byName.get(name);
      if (taken !== undefined && taken.id < old.id && !Object.values(renamed).includes(name)) return taken;
      return old;
    }
    // the new name of a field renamed away belongs to the renamed column, not to this one
    if (Object.values(renamed).includes(name) && byName.has(name) && !Object.hasOwn(renamed, name)) return undefined;
    return byName.get(name);
  };
  const fields: IcebergField[] = [];
  const used = new Set<number>();
  const names = new Set(next.columns.map((c) => c.name));
  const idOf = new Map<string, number>();
  for (const column of next.columns) {
    const existing = existingFor(column.name);
    const isKey = next.primaryKey.includes(column.name);
    if (existing === undefined) {
      changed = true;
      if (isKey) throw refused(table, `new column ${column.name} cannot join the primary key`);
      const id = ++ids.last;
      idOf.set(column.name, id);
      fields.push({ id, name: column.name, required: false, type: mapLogicalType(column.type, ids, options, `${table}.${column.name}`) });
      continue;
    }
    used.add(existing.id);
    idOf.set(column.name, existing.id);
    if (existing.name !== column.name) changed = true;
    const evolved = evolveType(existing.type, column.type, { ids, options, table, where: column.name });
    const type = evolved ?? existing.type;
    if (evolved !== undefined) changed = true;
    const required = existing.required && (isKey || !column.nullable);
    if (required !== existing.required) changed = true;
    fields.push({ ...existing, name: column.name, type, required });
  }
  for (const field of current.fields) {
    if (used.has(field.id)) continue;
    const isIdentifier = current["identifier-field-ids"]?.includes(field.id) ?? false;
    if (isIdentifier) throw refused(table, `primary-key column ${field.name} was dropped`);
    // a dropped column whose name a current column now has leaves the schema (its data files keep it, unread)
    if (names.has(field.name)) {
      changed = true;
      continue;
    }
    if (field.required) changed = true;
    fields.push({ ...field, required: false });
  }
  const oldKey = (current["identifier-field-ids"] ?? []).join(",");
  const newKey = next.primaryKey.map((n) => idOf.get(n) ?? -1).join(",");
  if (oldKey !== newKey) throw refused(table, `primary key changed from [${oldKey}] to [${next.primaryKey.join(", ")}]`);
  if (!changed) return undefined;
  return {
    schema: { ...current, "schema-id": current["schema-id"] + 1, fields },
    lastColumnId: ids.last,
  };
}

interface EvolveContext {
  readonly ids: { last: number };
  readonly options: IcebergTypeMappingOptions;
  readonly table: string;
  /** The column (and nested field) path, for messages. */
  readonly where: string;
}

/**
 * The type a field takes for a new logical type, or undefined when it stays.
 * Structs gain new fields (new ids) and keep fields the source dropped as
 * optional; list elements and struct fields evolve recursively; primitives
 * take the allowed promotions. Anything else throws `schema-refused`.
 */
function evolveType(existing: IcebergType, next: LogicalType, context: EvolveContext): IcebergType | undefined {
  if (typeof existing !== "string" && existing.type === "struct" && next.kind === "struct") {
    let changed = false;
    const fields: IcebergField[] = [];
    const seen = new Set<number>();
    for (const f of next.fields) {
      const where = `${context.where}.${f.name}`;
      const old = existing.fields.find((x) => x.name === f.name);
      if (old === undefined) {
        changed = true;
        fields.push({ id: ++context.ids.last, name: f.name, required: false, type: mapLogicalType(f.type, context.ids, context.options, `${context.table}.${where}`) });
        continue;
      }
      seen.add(old.id);
      const type = evolveType(old.type, f.type, { ...context, where });
      const required = old.required && !f.nullable;
      if (type !== undefined || required !== old.required) changed = true;
      fields.push({ ...old, type: type ?? old.type, required });
    }
    for (const old of existing.fields) {
      if (seen.has(old.id)) continue;
      if (old.required) changed = true;
      fields.push({ ...old, required: false });
    }
    return changed ? { ...existing, fields } : undefined;
  }
  if (typeof existing !== "string" && existing.type === "list" && next.kind === "list") {
    // A PostgreSQL array column typed deeper by its values (array-dimensions.ts) keeps its
    // levels when the source's type (which cannot say dimensions) comes again with fewer.
    if (typeof existing.element !== "string" && existing.element.type === "list" && next.element.kind !== "list" && next.native?.name.endsWith("[]") === true) {
      const inner = evolveType(existing.element, next, { ...context, where: `${context.where}.element` });
      return inner === undefined ? undefined : { ...existing, element: inner };
    }
    const element = evolveType(existing.element, next.element, { ...context, where: `${context.where}.element` });
    return element === undefined ? undefined : { ...existing, element };
  }
  if (typeof existing !== "string" && existing.type === "map" && next.kind === "map") {
    // a key cannot change (the spec promotes none inside a map key); the value evolves like a field
    const key = evolveType(existing.key, next.key, { ...context, where: `${context.where}.key` });
    if (key !== undefined) throw refused(context.table, `column ${context.where}: a map key cannot change type`);
    const value = evolveType(existing.value, next.value, { ...context, where: `${context.where}.value` });
    return value === undefined ? undefined : { ...existing, value };
  }
  const wanted = mapLogicalType(next, { last: 0 }, context.options, `${context.table}.${context.where}`);
  if (sameShape(existing, wanted)) return undefined;
  // a table written before maps existed keeps hstore as the JSON text string it had (the sink writes a map's JSON text into a string column)
  if (next.kind === "map" && existing === "string") return undefined;
  // a table created under decimal(38,10) keeps its column when the mapping option (or its default) says string
  if (next.kind === "decimal" && next.precision === undefined && typeof existing === "string" && DECIMAL.test(existing)) return undefined;
  const promoted = promote(existing, wanted);
  if (promoted === undefined) {
    throw refused(context.table, `column ${context.where} cannot change from ${describe(existing)} to ${describe(wanted)} (${formatLogicalType(next)})`);
  }
  return promoted === existing ? undefined : promoted;
}

function refused(table: string, message: string): ZeroEtlError {
  return new ZeroEtlError(`iceberg table ${table}: ${message}`, { code: "schema-refused", table });
}

function describe(type: IcebergType): string {
  return typeof type === "string" ? type : type.type;
}

/** Same type ignoring field ids (ids of a freshly mapped probe are meaningless). */
function sameShape(a: IcebergType, b: IcebergType): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a.type === "list" && b.type === "list") return a["element-required"] === b["element-required"] && sameShape(a.element, b.element);
  if (a.type === "map" && b.type === "map") return a["value-required"] === b["value-required"] && sameShape(a.key, b.key) && sameShape(a.value, b.value);
  if (a.type === "struct" && b.type === "struct") {
    return a.fields.length === b.fields.length && a.fields.every((f, i) => {
      const g = b.fields[i];
      return g !== undefined && f.name === g.name && f.required === g.required && sameShape(f.type, g.type);
    });
  }
  return false;
}

const DECIMAL = /^decimal\((\d+),\s*(\d+)\)$/;

function promote(from: IcebergType, to: IcebergType): IcebergType | undefined {
  if (typeof from !== "string" || typeof to !== "string") return undefined;
  if (from === "int" && to === "long") return to;
  if (from === "float" && to === "double") return to;
  const a = DECIMAL.exec(from);
  const b = DECIMAL.exec(to);
  if (a !== null && b !== null && a[2] === b[2] && Number(b[1]) >= Number(a[1])) return to;
  // A narrower source type after a widening (e.g. int after long) keeps the wider column.
  if (from === "long" && to === "int") return from;
  if (from === "double" && to === "float") return from;
  if (a !== null && b !== null && a[2] === b[2] && Number(b[1]) < Number(a[1])) return from;
  return undefined;
}

function mapLogicalType(type: LogicalType, ids: { last: number }, options: IcebergTypeMappingOptions, where: string): IcebergType {
  switch (type.kind) {
    case "bool":
      return "boolean";
    case "int":
      if (type.bits === 64) return type.signed ? "long" : "decimal(20,0)";
      if (type.bits === 32 && !type.signed) return "long";
      return "int";
    case "decimal": {
      if (type.precision === undefined) return options.unconstrainedDecimal;
      if (type.precision > 38) return "string";
      return `decimal(${type.precision},${type.scale ?? 0})`;
    }
    case "float":
      return type.bits === 32 ? "float" : "double";
    case "string":
    case "json":
    case "interval":
      return "string";
    case "bytes":
    case "geometry":
      return "binary";
    case "date":
      return "date";
    case "time":
      return type.withZone ? "string" : "time";
    case "timestamp":
      return type.withZone ? "timestamptz" : "timestamp";
    case "uuid":
      return "uuid";
    case "list": {
      const elementId = ++ids.last;
      return { type: "list", "element-id": elementId, "element-required": false, element: mapLogicalType(type.element, ids, options, `${where}.element`) };
    }
    case "map": {
      const keyId = ++ids.last;
      const valueId = ++ids.last;
      const key = mapLogicalType(type.key, ids, options, `${where}.key`);
      if (typeof key !== "string") throw new ZeroEtlError(`iceberg column ${where}: a map key must be a primitive type, not ${formatLogicalType(type.key)}`, { code: "schema-unsupported" });
      return { type: "map", "key-id": keyId, key, "value-id": valueId, value: mapLogicalType(type.value, ids, options, `${where}.value`), "value-required": false };
    }
    case "struct": {
      const fieldIds = type.fields.map(() => ++ids.last);
      return {
        type: "struct",
        fields: type.fields.map((f, i) => ({
          id: fieldIds[i] ?? 0,
          name: f.name,
          required: !f.nullable,
          type: mapLogicalType(f.type, ids, options, `${where}.${f.name}`),
        })),
      };
    }
    default: {
      const unknown: never = type;
      throw new ZeroEtlError(`iceberg column ${where}: unsupported type ${JSON.stringify(unknown)}`, { code: "schema-unsupported" });
    }
  }
}

/**
 * The same schema with every field id (nested ones too) moved up by
 * `offset`, so that a replacing schema never reuses an id an older data file
 * still carries.
 */
export function offsetIcebergFieldIds(schema: IcebergSchema, offset: number, schemaId: number): IcebergSchema {
  const shiftType = (type: IcebergType): IcebergType => {
    if (typeof type === "string") return type;
    if (type.type === "list") return { ...type, "element-id": type["element-id"] + offset, element: shiftType(type.element) };
    if (type.type === "map") return { ...type, "key-id": type["key-id"] + offset, key: shiftType(type.key), "value-id": type["value-id"] + offset, value: shiftType(type.value) };
    return { ...type, fields: type.fields.map(shiftField) };
  };
  const shiftField = (field: IcebergField): IcebergField => ({ ...field, id: field.id + offset, type: shiftType(field.type) });
  return {
    ...schema,
    "schema-id": schemaId,
    fields: schema.fields.map(shiftField),
    ...(schema["identifier-field-ids"] === undefined ? {} : { "identifier-field-ids": schema["identifier-field-ids"].map((id) => id + offset) }),
  };
}
