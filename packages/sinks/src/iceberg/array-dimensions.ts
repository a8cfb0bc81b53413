import type { LogicalType, TableSchema } from "@zero-etl/core";
import type { IcebergSchema, IcebergType } from "./iceberg-schema.js";

/**
 * PostgreSQL does not type an array's dimensions: an `int4[]` column may hold
 * `{1,2}` or `{{1,2},{3,4}}` (all of one value's sub-arrays have one length,
 * and `{}` has none). The source therefore gives such a column as `list<int>`
 * with its native type (`integer[]`). The Iceberg sink types the column by
 * the first non-empty value it meets while the table holds no rows: a value
 * with more dimensions than the column makes it a list of lists (as many
 * levels as the value has). After that a value with other dimensions than the
 * column cannot be stored and is dead-lettered with the reason.
 */

/** The columns of `schema` that are PostgreSQL arrays (their dimensions are untyped). */
export function untypedDimensionColumns(schema: TableSchema): ReadonlySet<string> {
  const out = new Set<string>();
  for (const column of schema.columns) if (isUntypedArray(column.type)) out.add(column.name);
  return out;
}

function isUntypedArray(type: LogicalType): boolean {
  return type.kind === "list" && type.native?.dialect === "postgres" && type.native.name.endsWith("[]");
}

/** The list levels of an Iceberg type (0 for a non-list). */
export function listDepth(type: IcebergType): number {
  let depth = 0;
  let t: IcebergType = type;
  while (typeof t !== "string" && t.type === "list") {
    depth++;
    t = t.element;
  }
  return depth;
}

/**
 * The dimensions of an array value: 0 for a non-array or an empty array
 * (it fits any depth), else 1 plus those of its first non-null element.
 */
export function valueDimensions(value: unknown): number {
  if (!Array.isArray(value) || value.length === 0) return 0;
  for (const element of value as readonly unknown[]) {
    if (element === null || element === undefined) continue;
    return Array.isArray(element) ? 1 + Math.max(1, valueDimensions(element)) : 1;
  }
  return 1;
}

/**
 * `schema` with the list column `name` nested to `depth` levels: the
 * innermost element type stays, every new list level and the element gets a
 * new field id from `lastColumnId + 1` on (the table holds no rows, so no
 * data file carries the old ids). Returns the schema and the new last id.
 */
export function deepenListColumn(schema: IcebergSchema, lastColumnId: number, name: string, depth: number): { schema: IcebergSchema; lastColumnId: number } {
  let last = lastColumnId;
  const fields = schema.fields.map((field) => {
    if (field.name !== name) return field;
    let inner: IcebergType = field.type;
    while (typeof inner !== "string" && inner.type === "list") inner = inner.element;
    let type: IcebergType = inner;
    for (let level = 0; level < depth; level++) type = { type: "list", "element-id": ++last, "element-required": false, element: type };
    return { ...field, type };
  });
  return { schema: { ...schema, "schema-id": schema["schema-id"] + 1, fields }, lastColumnId: last };
}
