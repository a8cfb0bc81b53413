import { indexRows, type CanonicalRow, type ColumnInfo, type TableRows } from "./table-rows.js";

/** One differing cell (or a missing/extra row, column or table: then `column` or `key` is `*`). */
export interface Difference {
  readonly table: string;
  /** The row's canonical key (JSON list of key values), `*` for a table-level difference. */
  readonly key: string;
  readonly column: string;
  readonly source: string | null;
  readonly target: string | null;
}

/** What a reader found on the target side for one table. */
export interface TargetRows {
  /** The source columns the target has (by name), with the target's types. */
  readonly present: readonly ColumnInfo[];
  readonly rows: readonly CanonicalRow[];
}

/**
 * Compares a source table with its target copy cell by cell: every source
 * row must be at the target under the same key with equal canonical
 * values, and no other row may be there. Columns the target has beyond the
 * source's (kept after a drop, bookkeeping) are not compared. Returns at
 * most `limit` differences.
 */
export function compareTableRows(table: string, source: TableRows, target: TargetRows | undefined, limit = 20): Difference[] {
  const out: Difference[] = [];
  if (target === undefined) return [{ table, key: "*", column: "*", source: `${source.rows.length} rows`, target: "no such table" }];
  const present = new Set(target.present.map((c) => c.name));
  for (const c of source.columns) if (!present.has(c.name)) out.push({ table, key: "*", column: c.name, source: c.type, target: "no such column" });
  const keyColumns = source.key.length > 0 ? source.key : source.columns.map((c) => c.name);
  const sourceRows = indexRows(source.rows, keyColumns);
  const targetRows = indexRows(target.rows, keyColumns);
  for (const [key, row] of sourceRows) {
    if (out.length >= limit) return out;
    const other = targetRows.get(key);
    if (other === undefined) {
      out.push({ table, key, column: "*", source: "row", target: "no such row" });
      continue;
    }
    for (const c of source.columns) {
      if (!present.has(c.name)) continue;
      const a = row[c.name] ?? null;
      const b = other[c.name] ?? null;
      if (a !== b && out.length < limit) out.push({ table, key, column: c.name, source: a, target: b });
    }
  }
  for (const key of targetRows.keys()) {
    if (out.length >= limit) break;
    if (!sourceRows.has(key)) out.push({ table, key, column: "*", source: "no such row", target: "row" });
  }
  return out;
}

/** Compares two lists of raw target row texts (the snapshotted and the streamed twin) as multisets. */
export function compareTwinTexts(table: string, snapshotted: readonly string[], streamed: readonly string[], limit = 10): Difference[] {
  const a = [...snapshotted].sort();
  const b = [...streamed].sort();
  const out: Difference[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < limit; i++) {
    if (a[i] !== b[i]) out.push({ table, key: `#${i}`, column: "(whole row, snapshot vs stream)", source: a[i] ?? null, target: b[i] ?? null });
  }
  return out;
}
