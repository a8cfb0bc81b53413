import { ConfigError, freezeSchema, tableKey } from "@zero-etl/core";
import type { ColumnSchema, LogicalType, Row, TableRef, TableSchema, Value } from "@zero-etl/core";
import type { AttributeMap, AttributeValue } from "./dynamodb-value.js";
import { itemToJsonText, normalizeDynamoNumber } from "./dynamodb-value.js";

/** One key attribute of a DynamoDB table and its scalar type. */
export interface DynamoDbKeyAttribute {
  readonly name: string;
  readonly type: "S" | "N" | "B";
}

/**
 * Single-table-design routing: items go to target tables named
 * `<table>_<entity>`. `attribute` takes the entity from a string attribute
 * (e.g. `type`); `prefix` from the partition (`pk`) or sort (`sk`) key value
 * before the first `separator` (`USER#42` -> `user`). Items without an
 * entity stay in the base table. `entities` declares the entity names known
 * up front, so their tables are in `introspect()` and in the snapshot's
 * schemas (a runtime prepares target tables from those).
 */
export type DynamoDbRouting = (
  | { readonly attribute: string }
  | { readonly prefix: { readonly on: "pk" | "sk"; readonly separator: string } }
) & { readonly entities?: readonly string[] };

/** Options of {@link createDynamoDbTableModel}. */
export interface DynamoDbTableModelOptions {
  readonly namespace: string;
  readonly table: string;
  readonly partitionKey: DynamoDbKeyAttribute;
  readonly sortKey?: DynamoDbKeyAttribute;
  readonly routing?: DynamoDbRouting;
  /** Name of the `json` column holding the whole item; `item` by default. */
  readonly documentColumn?: string;
}

/**
 * How items of one DynamoDB table become rows ("document" layout): the key
 * attributes as typed columns (S string, N decimal, B bytes) and one `json`
 * column holding the whole item as exact JSON text. Unnesting is left to the
 * mappers, like Redshift's SUPER column.
 */
export interface DynamoDbTableModel {
  readonly base: TableRef;
  readonly keyNames: readonly string[];
  readonly documentColumn: string;
  /** True when routing may send items to tables other than `base`. */
  readonly routed: boolean;
  /** The base table and the tables of the declared routing entities, in that order. */
  readonly declared: readonly TableRef[];
  /** The schema of a target table (the base table or a routed entity table). */
  schemaFor(table: TableRef): TableSchema;
  /** The target table of an item; `image` is the item, or its keys when that is all there is. */
  route(image: AttributeMap): TableRef;
  /** The full row of an item. */
  toRow(item: AttributeMap): Row;
  /** The key columns of an item or key map. */
  toKeyRow(keys: AttributeMap): Row;
}

const KEY_TYPES: Record<DynamoDbKeyAttribute["type"], LogicalType> = {
  S: { kind: "string" },
  N: { kind: "decimal" },
  B: { kind: "bytes" },
};

/** Builds the row layout and routing of one table; the returned schemas are frozen and cached. */
export function createDynamoDbTableModel(options: DynamoDbTableModelOptions): DynamoDbTableModel {
  const documentColumn = options.documentColumn ?? "item";
  const keys = options.sortKey === undefined ? [options.partitionKey] : [options.partitionKey, options.sortKey];
  if (keys.some((k) => k.name === documentColumn)) {
    throw new ConfigError("source.documentColumn", "a column name that is not a key attribute", documentColumn);
  }
  const base: TableRef = Object.freeze({ namespace: options.namespace, name: options.table });
  const columns: ColumnSchema[] = keys.map((k) => ({ name: k.name, type: KEY_TYPES[k.type], nullable: false, sourceType: k.type }));
  columns.push({ name: documentColumn, type: { kind: "json" }, nullable: false, sourceType: "item" });
  const schemas = new Map<string, TableSchema>();
  const refs = new Map<string, TableRef>();
  refs.set("", base);

  const schemaFor = (table: TableRef): TableSchema => {
    const key = tableKey(table);
    let schema = schemas.get(key);
    if (schema === undefined) {
      schema = freezeSchema({ table: Object.freeze({ ...table }), columns: columns.map((c) => ({ ...c })), primaryKey: keys.map((k) => k.name), version: 1 });
      schemas.set(key, schema);
    }
    return schema;
  };

  const entityRef = (entity: string): TableRef => {
    let ref = refs.get(entity);
    if (ref === undefined) {
      const clean = entity.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
      ref = clean === "" ? base : Object.freeze({ namespace: options.namespace, name: `${options.table}_${clean}` });
      refs.set(entity, ref);
    }
    return ref;
  };

  const routing = options.routing;
  let route: (image: AttributeMap) => TableRef;
  if (routing === undefined) route = () => base;
  else if ("attribute" in routing) {
    route = (image) => {
      const v = image[routing.attribute]?.S;
      return v === undefined ? base : entityRef(v);
    };
  } else {
    const keyName = routing.prefix.on === "pk" ? options.partitionKey.name : options.sortKey?.name;
    if (keyName === undefined) throw new ConfigError("source.routing.prefix.on", "\"pk\", because the table has no sort key", "sk");
    const separator = routing.prefix.separator;
    route = (image) => {
      const v = image[keyName]?.S;
      if (v === undefined) return base;
      const at = v.indexOf(separator);
      return at <= 0 ? base : entityRef(v.slice(0, at));
    };
  }

  const keyNames = keys.map((k) => k.name);
  const toKeyRow = (item: AttributeMap): Row => {
    const row: Record<string, Value> = {};
    for (const k of keys) row[k.name] = keyValue(item[k.name], k);
    return row;
  };
  return {
    base,
    keyNames,
    documentColumn,
    routed: routing !== undefined,
    declared: [base, ...(routing?.entities ?? []).map(entityRef).filter((ref) => ref !== base)],
    schemaFor,
    route,
    toKeyRow,
    toRow(item) {
      const row: Record<string, Value> = {};
      for (const k of keys) row[k.name] = keyValue(item[k.name], k);
      row[documentColumn] = itemToJsonText(item);
      return row;
    },
  };
}

function keyValue(value: AttributeValue | undefined, key: DynamoDbKeyAttribute): Value {
  if (key.type === "S" && value?.S !== undefined) return value.S;
  if (key.type === "N" && value?.N !== undefined) return normalizeDynamoNumber(value.N);
  if (key.type === "B" && value?.B !== undefined) return value.B;
  // DynamoDB guarantees key attributes; a missing one means a malformed record, not user data
  return null;
}
