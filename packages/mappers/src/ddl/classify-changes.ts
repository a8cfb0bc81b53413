import type { LogicalType, LogicalTypeKind, TableRef } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { SchemaChange } from "./schema-change.js";
import { changedColumn } from "./schema-change.js";

/**
 * What to do when a table's schema changes (after dlt's schema contracts):
 * - `evolve`: apply what the target can take; a non-widening type change
 *   goes to a variant column `<col>__v_<type>`;
 * - `freeze`: refuse every change (the table becomes resync-required);
 * - `discard-row`: keep the target schema; rows that need the change go to the dead-letter queue;
 * - `discard-value`: keep the target schema; the values that need the change are dropped.
 */
export type EvolutionMode = "evolve" | "freeze" | "discard-row" | "discard-value";

/**
 * Evolution modes at several levels. The most specific wins: a column
 * (`namespace.table.column`), then the kind of the column's new type, then
 * the table (`namespace.table`), then `default` (`evolve`).
 */
export interface EvolutionPolicy {
  readonly default?: EvolutionMode | undefined;
  readonly tables?: Readonly<Record<string, EvolutionMode>> | undefined;
  readonly columns?: Readonly<Record<string, EvolutionMode>> | undefined;
  readonly types?: Readonly<Partial<Record<LogicalTypeKind, EvolutionMode>>> | undefined;
}

/** The fate of one change. */
export type ChangeOutcome =
  | { readonly outcome: "applied" }
  | { readonly outcome: "refused"; readonly tableState: "resync-required" }
  | { readonly outcome: "diverted"; readonly to: "variant-column"; readonly variantColumn: string }
  | { readonly outcome: "diverted"; readonly to: "dead-letter" | "discard" };

/** A change with its mode, fate and the reason, for logs and docs. */
export type ClassifiedChange = ChangeOutcome & {
  readonly change: SchemaChange;
  readonly mode: EvolutionMode;
  readonly reason: string;
};

/** Options of {@link classifyChanges}. */
export interface ClassifyChangesOptions {
  readonly table: TableRef;
  readonly policy: EvolutionPolicy;
}

/** The short type tag of variant column names: `int64`, `float32`, `decimal`, `string`. */
export function variantTypeTag(type: LogicalType): string {
  if (type.kind === "int") return `${type.signed ? "int" : "uint"}${type.bits}`;
  if (type.kind === "float") return `float${type.bits}`;
  return type.kind;
}

/** The variant column dlt-style: `<column>__v_<type>`. */
export function variantColumnName(column: string, type: LogicalType): string {
  return `${column}__v_${variantTypeTag(type)}`;
}

function newType(change: SchemaChange): LogicalType | undefined {
  switch (change.kind) {
    case "add-column":
      return change.column.type;
    case "widen-type":
    case "change-type":
      return change.to;
    default:
      return undefined;
  }
}

/**
 * Decides, change by change, what happens under a policy:
 * `applied`, `refused` (the table is set to resync-required) or `diverted`
 * (to a variant column, the dead-letter queue, or discarded). A primary-key
 * change can never be applied in place: it is refused under every mode but
 * `discard-*`. Under `discard-*` the target schema never changes: a dropped
 * column stays (new rows leave it null) and a stricter nullability is not
 * copied, both without losing a value (`discard`); every other change sends
 * the rows that need it to the dead-letter queue (`discard-row`) or drops
 * the values (`discard-value`). Reorders and source-type annotations are
 * always `applied` (they change no stored value).
 */
export function classifyChanges(changes: readonly SchemaChange[], options: ClassifyChangesOptions): readonly ClassifiedChange[] {
  const { policy, table } = options;
  const key = tableKey(table);
  const modeOf = (change: SchemaChange): EvolutionMode => {
    const column = changedColumn(change);
    const byColumn = column === undefined ? undefined : policy.columns?.[`${key}.${column}`];
    if (byColumn !== undefined) return byColumn;
    const type = newType(change);
    const byType = type === undefined ? undefined : policy.types?.[type.kind];
    if (byType !== undefined) return byType;
    return policy.tables?.[key] ?? policy.default ?? "evolve";
  };
  return changes.map((change): ClassifiedChange => {
    const mode = modeOf(change);
    const refused = (reason: string): ClassifiedChange => ({ change, mode, reason, outcome: "refused", tableState: "resync-required" });
    const applied = (reason: string): ClassifiedChange => ({ change, mode, reason, outcome: "applied" });
    const divert = (to: "dead-letter" | "discard", reason: string): ClassifiedChange => ({ change, mode, reason, outcome: "diverted", to });
    if (change.kind === "reorder-columns" || change.kind === "set-source-type") return applied("no effect on stored values");
    if (mode === "freeze") return refused(`${key} is frozen: ${change.kind} needs a resync`);
    if (mode === "evolve") {
      if (change.kind === "change-primary-key") return refused("a new primary key changes row identity; the table is re-snapshotted");
      if (change.kind === "change-type") {
        return { change, mode, reason: "non-widening type change: new values go to a variant column", outcome: "diverted", to: "variant-column", variantColumn: variantColumnName(change.column, change.to) };
      }
      return applied(`${change.kind} applied to the target`);
    }
    const to = mode === "discard-row" ? "dead-letter" : "discard";
    if (change.kind === "drop-column") return divert("discard", "the target keeps the column; new rows leave it null");
    if (change.kind === "set-nullable" && !change.nullable) return divert("discard", "the target keeps its looser constraint; no value is lost");
    return divert(to, mode === "discard-row" ? `rows that need ${change.kind} go to the dead-letter queue` : `values that need ${change.kind} are dropped`);
  });
}
