import type { TableChange, TableRef } from "@zero-etl/core";
import type { PgoutputMessage } from "./pgoutput-decoder.js";
import type { PostgresTableInfo } from "./postgres-introspector.js";

type RelationMessage = Extract<PgoutputMessage, { tag: "relation" }>;

/** Options of {@link RelationChangeDetector}. */
export interface RelationChangeDetectorOptions {
  /** The selected tables as introspected when the stream started. */
  readonly tables: readonly PostgresTableInfo[];
  readonly includes: (ref: TableRef) => boolean;
  /** Of `columns` of relation `oid`, those whose existing rows read a non-null default (`atthasmissing`), per the catalog now. */
  readonly columnsWithMissing: (oid: number, columns: readonly string[]) => Promise<readonly string[]>;
}

/**
 * The fallback when the DDL capture is not installed: infers table changes
 * from Relation messages alone, which arrive only before a table's next row
 * and only for published tables. Sees a selected name arriving with a new
 * relation OID (dropped and created again, or created after the stream
 * started in a `FOR ALL TABLES` publication), a known OID under a new name
 * (renamed or moved) and new columns whose existing rows take a default.
 * It cannot see what happened while no pipeline was streaming, rewrites, or
 * a column dropped and added again; the DDL capture can.
 */
export class RelationChangeDetector {
  private readonly oidByName = new Map<string, number>();
  private readonly refByOid = new Map<number, TableRef>();
  private readonly columnsByOid = new Map<number, readonly string[]>();

  constructor(private readonly options: RelationChangeDetectorOptions) {
    for (const info of options.tables) {
      this.oidByName.set(key(info.schema.table), info.oid);
      this.refByOid.set(info.oid, info.schema.table);
      this.columnsByOid.set(info.oid, info.columns.map((c) => c.name));
    }
  }

  /** The table changes one Relation message implies (empty for most). */
  async observe(message: RelationMessage, position: string): Promise<TableChange[]> {
    const ref: TableRef = { namespace: message.namespace, name: message.name };
    const oid = message.relationOid;
    const names = message.columns.map((c) => c.name);
    const previousRef = this.refByOid.get(oid);
    const previousOid = this.oidByName.get(key(ref));
    const previousColumns = this.columnsByOid.get(oid);
    this.refByOid.set(oid, ref);
    this.oidByName.set(key(ref), oid);
    this.columnsByOid.set(oid, names);
    const out: TableChange[] = [];
    if (previousRef !== undefined && key(previousRef) !== key(ref)) {
      if (this.oidByName.get(key(previousRef)) === oid) this.oidByName.delete(key(previousRef));
      if (this.options.includes(previousRef)) out.push({ kind: "dropped", table: previousRef, position, reason: `renamed to ${ref.namespace}.${ref.name}` });
      if (this.options.includes(ref)) out.push({ kind: "refresh", table: ref, position, reason: `renamed from ${previousRef.namespace}.${previousRef.name}` });
      return out;
    }
    if (!this.options.includes(ref)) return out;
    if (previousOid !== undefined && previousOid !== oid) return [{ kind: "refresh", table: ref, position, reason: "table dropped and created again" }];
    if (previousRef === undefined && previousOid === undefined) return [{ kind: "refresh", table: ref, position, reason: "table created" }];
    const added = previousColumns === undefined ? [] : names.filter((n) => !previousColumns.includes(n));
    if (added.length === 0) return out;
    const missing = await this.options.columnsWithMissing(oid, added);
    if (missing.length > 0) out.push({ kind: "refresh", table: ref, position, reason: `column ${missing.join(", ")} added with a default the existing rows take` });
    return out;
  }
}

function key(ref: TableRef): string {
  return `${ref.namespace}\u0000${ref.name}`;
}
