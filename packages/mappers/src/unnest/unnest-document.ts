import type { ColumnSchema, Row, TableSchema, Value } from "@zero-etl/core";
import type { PendingChildRow } from "./table-unnester.js";
import { TableUnnester } from "./table-unnester.js";
import type { UnnestOptions } from "./unnest-options.js";
import { resolveUnnestOptions } from "./unnest-options.js";

/** Options of {@link unnestDocument}. */
export interface UnnestDocumentOptions extends UnnestOptions {
  /** Prefix of every flattened column (normally the source column's name). Default: none, names are the paths. */
  readonly column?: string | undefined;
  /** Root table name, the prefix of child table names. Default `document`. */
  readonly table?: string | undefined;
  /** Root primary key, copied into child rows and seeding their ids. Required for `lists: "child-tables"`. */
  readonly key?: Row | undefined;
}

/** The result of {@link unnestDocument}. */
export interface UnnestedDocument {
  /** The flattened row (the key columns first when `key` is given). */
  readonly row: Readonly<Record<string, Value>>;
  /** Child rows by child table name, each list in document order (empty unless `lists: "child-tables"`). */
  readonly children: Readonly<Record<string, readonly Row[]>>;
  /** The schemas inferred from this one document: root first, then child tables. */
  readonly schemas: readonly TableSchema[];
}

function keyColumns(key: Row | undefined): ColumnSchema[] {
  if (key === undefined) return [];
  return Object.keys(key).map((name) => {
    const value = key[name];
    const type = typeof value === "bigint" ? { kind: "int", bits: 64, signed: true } as const : typeof value === "number" ? { kind: "float", bits: 64 } as const : { kind: "string" } as const;
    return { name, type, nullable: false };
  });
}

/**
 * Flattens one document: JSON text (the value model's `json`) or an object
 * (a `struct` value).
 *
 * - `mode: "none"` (the default): the document stays one column.
 * - `"top-level"`: one column per top-level attribute; nested objects and lists stay JSON text.
 * - `"all"`: every object level is flattened, names joined with `separator`
 *   (`__`), down to `maxDepth`; lists stay JSON text or, with
 *   `lists: "child-tables"`, become rows of child tables named
 *   `<table>__<path>` carrying the root key, `_zeroetl_parent_id`,
 *   `_zeroetl_list_idx` and `_zeroetl_id` (ids are deterministic hashes of
 *   root key, table path and index).
 *
 * Values keep the value model: JSON integers become `bigint` (int64), other
 * numbers exact decimal strings (never a float), strings and booleans stay,
 * nested JSON is kept as the exact source text. Attributes that are null or
 * absent produce no column. Identifiers longer than `maxIdentifierLength`
 * bytes are cut and suffixed with a stable hash.
 */
export function unnestDocument(doc: Value, options: UnnestDocumentOptions = {}): UnnestedDocument {
  const resolved = resolveUnnestOptions(options);
  const column = options.column ?? "";
  const key = keyColumns(options.key);
  const source: TableSchema = {
    table: { namespace: "", name: options.table ?? "document" },
    columns: [...key, { name: column, type: typeof doc === "string" ? { kind: "json" } : { kind: "struct", fields: [] }, nullable: true }],
    primaryKey: key.map((c) => c.name),
    version: 1,
  };
  const unnester = new TableUnnester(source, resolved);
  const pending: PendingChildRow[] = [];
  const input = { ...options.key, [column]: doc };
  let row = unnester.flatten(input, pending);
  if (unnester.widenings > 0) {
    pending.length = 0;
    row = unnester.flatten(input, pending);
  }
  for (const p of pending) unnester.completeRow(p.table, p.row);
  const children: Record<string, Row[]> = {};
  for (const table of unnester.tables) if (table !== unnester.root) children[table.ref.name] = [];
  for (const p of pending) children[p.table.ref.name]?.push(p.row);
  return { row, children, schemas: unnester.schemas() };
}
