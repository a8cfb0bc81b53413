import type { ColumnSchema, LogicalType } from "@zero-etl/core";

/**
 * One step from one table schema to the next, as {@link diffSchemas}
 * computes it and {@link applySchemaChanges} replays it. A list of changes is
 * ordered: renames, additions, the primary key, type and nullability
 * changes, source-type annotations, drops, and last the column order.
 */
export type SchemaChange =
  /** A new column, appended (a later `reorder-columns` places it). */
  | { readonly kind: "add-column"; readonly column: ColumnSchema }
  | { readonly kind: "drop-column"; readonly column: ColumnSchema }
  /** The source said the column was renamed (never inferred). */
  | { readonly kind: "rename-column"; readonly from: string; readonly to: string }
  /** A type change every old value survives ({@link isWidening}). */
  | { readonly kind: "widen-type"; readonly column: string; readonly from: LogicalType; readonly to: LogicalType }
  /** Any other type change. */
  | { readonly kind: "change-type"; readonly column: string; readonly from: LogicalType; readonly to: LogicalType }
  | { readonly kind: "set-nullable"; readonly column: string; readonly nullable: boolean }
  /** Only the source's spelling of the type changed (`sourceType`); no target effect. */
  | { readonly kind: "set-source-type"; readonly column: string; readonly sourceType: string | undefined }
  | { readonly kind: "change-primary-key"; readonly from: readonly string[]; readonly to: readonly string[] }
  /** The columns' order changed; targets that cannot reorder ignore it. */
  | { readonly kind: "reorder-columns"; readonly order: readonly string[] };

/** The discriminant of {@link SchemaChange}. */
export type SchemaChangeKind = SchemaChange["kind"];

/** A change a renderer could not express, with the reason. */
export interface RefusedChange {
  readonly change: SchemaChange;
  readonly reason: string;
}

/** The column a change is about, if any. */
export function changedColumn(change: SchemaChange): string | undefined {
  switch (change.kind) {
    case "add-column":
    case "drop-column":
      return change.column.name;
    case "rename-column":
      return change.to;
    case "change-primary-key":
    case "reorder-columns":
      return undefined;
    default:
      return change.column;
  }
}
