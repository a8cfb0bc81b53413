import type { IcebergField, IcebergType } from "../type-mapping/to-iceberg-type.js";
import { toIcebergType } from "../type-mapping/to-iceberg-type.js";
import type { RefusedChange, SchemaChange } from "./schema-change.js";

/** An Iceberg schema as table metadata JSON writes it. */
export interface IcebergSchema {
  readonly type: "struct";
  readonly "schema-id": number;
  readonly fields: readonly IcebergField[];
  readonly "identifier-field-ids"?: readonly number[];
}

/** Options of {@link renderIcebergSchemaUpdate}. */
export interface IcebergSchemaUpdateOptions {
  /** The table's `last-column-id`. Default: the highest field id in the schema. */
  readonly lastColumnId?: number | undefined;
}

/** The next Iceberg schema, the new `last-column-id`, and the changes Iceberg refuses. */
export interface IcebergSchemaUpdate {
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
  readonly refused: readonly RefusedChange[];
}

function maxId(type: IcebergType): number {
  if (typeof type === "string") return 0;
  if (type.type === "struct") return Math.max(0, ...type.fields.map((f) => Math.max(f.id, maxId(f.type))));
  if (type.type === "list") return Math.max(type["element-id"], maxId(type.element));
  return Math.max(type["key-id"], type["value-id"], maxId(type.key), maxId(type.value));
}

const DECIMAL = /^decimal\((\d+),\s*(\d+)\)$/;

/** The Iceberg spec's allowed promotions: int -> long, float -> double, decimal(P,S) -> decimal(P',S) with P' > P. */
export function isIcebergPromotion(from: IcebergType, to: IcebergType): boolean {
  if (typeof from !== "string" || typeof to !== "string") return false;
  if (from === "int" && to === "long") return true;
  if (from === "float" && to === "double") return true;
  const a = DECIMAL.exec(from);
  const b = DECIMAL.exec(to);
  return a !== null && b !== null && a[2] === b[2] && Number(b[1]) > Number(a[1]);
}

/**
 * The next Iceberg schema after schema changes (schema-id + 1). New columns
 * (and their nested fields) get new ids from `last-column-id` + 1 and are
 * optional, as the spec requires for added columns; ids are never reused.
 * Renames keep the id. Type changes follow the spec's promotions
 * ({@link isIcebergPromotion}); a change that maps to the same Iceberg type
 * needs nothing; any other is refused. A required column may become optional,
 * not the reverse. A primary-key change updates `identifier-field-ids` when
 * every key field is required, and is refused otherwise. Reorders move fields.
 */
export function renderIcebergSchemaUpdate(current: IcebergSchema, changes: readonly SchemaChange[], options: IcebergSchemaUpdateOptions = {}): IcebergSchemaUpdate {
  let last = options.lastColumnId ?? maxId(current);
  let fields: IcebergField[] = [...current.fields];
  let identifiers: readonly number[] | undefined = current["identifier-field-ids"];
  const refused: RefusedChange[] = [];
  const find = (name: string): number => fields.findIndex((f) => f.name === name);
  for (const change of changes) {
    switch (change.kind) {
      case "add-column": {
        if (find(change.column.name) >= 0) {
          refused.push({ change, reason: `field ${change.column.name} already exists` });
          break;
        }
        const id = ++last;
        const type = toIcebergType(change.column.type, { nextId: () => ++last }).type;
        fields.push({ id, name: change.column.name, required: false, type });
        break;
      }
      case "drop-column": {
        const i = find(change.column.name);
        if (i >= 0) {
          const id = (fields[i] as IcebergField).id;
          fields.splice(i, 1);
          if (identifiers !== undefined) identifiers = identifiers.filter((x) => x !== id);
        }
        break;
      }
      case "rename-column": {
        const i = find(change.from);
        if (i < 0) refused.push({ change, reason: `no field ${change.from}` });
        else fields[i] = { ...(fields[i] as IcebergField), name: change.to };
        break;
      }
      case "widen-type":
      case "change-type": {
        const i = find(change.column);
        const field = fields[i];
        if (field === undefined) {
          refused.push({ change, reason: `no field ${change.column}` });
          break;
        }
        const to = toIcebergType(change.to).type;
        if (JSON.stringify(to) === JSON.stringify(field.type)) break;
        if (isIcebergPromotion(field.type, to)) fields[i] = { ...field, type: to };
        else refused.push({ change, reason: `Iceberg cannot promote ${JSON.stringify(field.type)} to ${JSON.stringify(to)}` });
        break;
      }
      case "set-nullable": {
        const i = find(change.column);
        const field = fields[i];
        if (field === undefined) refused.push({ change, reason: `no field ${change.column}` });
        else if (change.nullable) fields[i] = { ...field, required: false };
        else if (!field.required) refused.push({ change, reason: "Iceberg cannot make an optional field required" });
        break;
      }
      case "change-primary-key": {
        const keyFields = change.to.map((name) => fields.find((f) => f.name === name));
        if (keyFields.some((f) => f === undefined || !f.required)) {
          refused.push({ change, reason: "identifier fields must exist and be required" });
        } else identifiers = keyFields.map((f) => (f as IcebergField).id);
        break;
      }
      case "reorder-columns": {
        const byName = new Map(fields.map((f) => [f.name, f]));
        const ordered = change.order.flatMap((n) => {
          const f = byName.get(n);
          byName.delete(n);
          return f === undefined ? [] : [f];
        });
        fields = [...ordered, ...byName.values()];
        break;
      }
      default:
        break;
    }
  }
  const schema: IcebergSchema =
    identifiers === undefined
      ? { type: "struct", "schema-id": current["schema-id"] + 1, fields }
      : { type: "struct", "schema-id": current["schema-id"] + 1, fields, "identifier-field-ids": identifiers };
  return { schema, lastColumnId: last, refused };
}
