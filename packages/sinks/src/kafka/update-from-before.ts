import type { Row } from "@zero-etl/core";

/** An update's new row image and the columns it still lacks. */
export interface CompletedUpdate {
  readonly after: Row;
  /** Columns neither the update nor its old row carry (undefined when none). */
  readonly unchanged: readonly string[] | undefined;
}

/**
 * Fills the columns an update left out (PostgreSQL's unchanged TOAST values)
 * from its old row when the stream carried one (`REPLICA IDENTITY FULL`).
 * Into Kafka an update must go whole where it can: a key-changing update
 * becomes a delete under the old key and a create under the new one, which
 * may land in different partitions and be applied by different consumers, so
 * none of them can take the value from the old row afterwards.
 */
export function completeFromBefore(after: Row, unchanged: readonly string[] | undefined, before: Row | undefined): CompletedUpdate {
  if (unchanged === undefined || unchanged.length === 0) return { after, unchanged: undefined };
  if (before === undefined) return { after, unchanged };
  const filled: Record<string, Row[string]> = { ...after };
  let missing: string[] | undefined;
  for (const column of unchanged) {
    if (Object.hasOwn(before, column)) filled[column] = before[column] as Row[string];
    else (missing ??= []).push(column);
  }
  return { after: filled, unchanged: missing };
}
