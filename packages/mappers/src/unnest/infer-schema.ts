import type { Row, TableSchema } from "@zero-etl/core";
import { TableUnnester } from "./table-unnester.js";
import type { UnnestOptions } from "./unnest-options.js";
import { resolveUnnestOptions } from "./unnest-options.js";

/** Options of {@link inferSchema}. */
export interface InferSchemaOptions extends UnnestOptions {
  /** The source table the rows come from. */
  readonly schema: TableSchema;
}

/**
 * Infers the unnested target schemas from sample rows of a source table:
 * the root table first, then one table per list when `lists` is
 * `"child-tables"`. Column types widen across rows instead of failing:
 * bool and int64 widen to decimal or string, int64 to decimal, decimal to
 * string, and a path holding both objects and scalars becomes one `json`
 * column. Struct columns start from their declared fields and types. Every
 * flattened column is nullable. Pure: the rows are not changed.
 */
export function inferSchema(rows: readonly Row[], options: InferSchemaOptions): readonly TableSchema[] {
  const unnester = new TableUnnester(options.schema, resolveUnnestOptions(options));
  const pending = resolveUnnestOptions(options).lists === "child-tables" ? [] : undefined;
  for (const row of rows) {
    unnester.flatten(row, pending);
    if (pending !== undefined) pending.length = 0;
  }
  unnester.collapseMixed();
  return unnester.schemas();
}
