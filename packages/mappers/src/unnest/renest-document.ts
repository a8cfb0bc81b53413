import type { ColumnSchema, LogicalType, Row, TableSchema, Value } from "@zero-etl/core";
import { writeJsonValue } from "./json-value-writer.js";
import { LIST_INDEX_COLUMN, PARENT_ID_COLUMN, ROW_ID_COLUMN, VALUE_COLUMN, rootRowId } from "./child-row-id.js";

/** Options of {@link renest}. */
export interface RenestOptions {
  /** The unnested root table's schema (column types tell JSON text, decimals and strings apart). */
  readonly schema: TableSchema;
  /** The column prefix used when unnesting (the source column's name). Default: none. */
  readonly column?: string | undefined;
  /** Default `__`. */
  readonly separator?: string | undefined;
  /** Child tables by name, as {@link unnestDocument} returned them, with their schemas. */
  readonly children?: Readonly<Record<string, { readonly schema: TableSchema; readonly rows: readonly Row[] }>> | undefined;
  /** The root primary-key columns, in key order (needed with children). */
  readonly key?: readonly string[] | undefined;
}

type Tree = { readonly kind: "object"; readonly fields: Map<string, Tree> } | { readonly kind: "raw"; readonly text: string };

function fragment(value: Value, type: LogicalType): string {
  if (type.kind === "json") return typeof value === "string" ? value : writeJsonValue(value);
  if (type.kind === "decimal" && typeof value === "string") return value;
  return writeJsonValue(value);
}

function place(root: Map<string, Tree>, path: readonly string[], leaf: Tree): Tree | undefined {
  if (path.length === 0) return leaf;
  let fields = root;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i] as string;
    let next = fields.get(segment);
    if (next === undefined || next.kind !== "object") fields.set(segment, (next = { kind: "object", fields: new Map() }));
    fields = next.fields;
  }
  fields.set(path[path.length - 1] as string, leaf);
  return undefined;
}

function serialise(tree: Tree): string {
  if (tree.kind === "raw") return tree.text;
  let text = "{";
  let first = true;
  for (const [key, value] of tree.fields) {
    text += `${first ? "" : ","}${JSON.stringify(key)}:${serialise(value)}`;
    first = false;
  }
  return `${text}}`;
}

/**
 * Restores the document {@link unnestDocument} flattened, as JSON text: the
 * inverse of unnesting for documents whose attributes are not null, whose
 * objects and lists are not empty and whose keys do not contain the separator (null
 * attributes and empty objects produce no column, so they cannot come back).
 * Numbers come back with the exact digits they were stored with. Returns
 * `null` when the row holds nothing of the document.
 */
export function renest(flatRow: Row, options: RenestOptions): string | null {
  const separator = options.separator ?? "__";
  const prefix = options.column ?? "";
  const rootTable = options.schema.table.name;
  const rootId = options.children === undefined ? "" : rootRowId((options.key ?? []).map((name) => flatRow[name] ?? null));
  const build = (row: Row, columns: readonly ColumnSchema[], skip: ReadonlySet<string>, scalarName: string, columnPrefix: string, tableName: string, rowId: string): string | null => {
    const fields = new Map<string, Tree>();
    let scalar: Tree | undefined;
    const head = columnPrefix === "" ? "" : columnPrefix + separator;
    for (const column of columns) {
      if (skip.has(column.name)) continue;
      const value = row[column.name];
      if (value === null || value === undefined) continue;
      if (column.name === scalarName) {
        scalar = { kind: "raw", text: fragment(value, column.type) };
        continue;
      }
      if (head !== "" && !column.name.startsWith(head)) continue;
      const path = column.name.slice(head.length).split(separator);
      place(fields, path, { kind: "raw", text: fragment(value, column.type) });
    }
    for (const [name, child] of Object.entries(options.children ?? {})) {
      const start = `${tableName}${separator}${columnPrefix === "" ? "" : columnPrefix + separator}`;
      if (!name.startsWith(start)) continue;
      const rest = name.slice(start.length);
      const path = columnPrefix === "" && rest === VALUE_COLUMN ? [] : rest.split(separator);
      if (path.some((p) => p === "")) continue;
      if (Object.keys(options.children ?? {}).some((other) => other !== name && name.startsWith(other + separator) && other.startsWith(start))) continue;
      const elements = child.rows.filter((r) => r[PARENT_ID_COLUMN] === rowId).sort((a, b) => Number(a[LIST_INDEX_COLUMN]) - Number(b[LIST_INDEX_COLUMN]));
      // an empty list leaves no child row, exactly like an absent attribute
      if (elements.length === 0) continue;
      const fixed = new Set([...(options.key ?? []), PARENT_ID_COLUMN, LIST_INDEX_COLUMN, ROW_ID_COLUMN]);
      const items = elements.map((element) => build(element, child.schema.columns, fixed, VALUE_COLUMN, "", name, String(element[ROW_ID_COLUMN])) ?? "null");
      const list: Tree = { kind: "raw", text: `[${items.join(",")}]` };
      if (path.length === 0) scalar = list;
      else place(fields, path, list);
    }
    if (fields.size > 0) return serialise({ kind: "object", fields });
    return scalar === undefined ? null : serialise(scalar);
  };
  return build(flatRow, options.schema.columns, new Set(options.key ?? []), prefix === "" ? VALUE_COLUMN : prefix, prefix, rootTable, rootId);
}
