import type { ChangeEvent, ColumnSchema, Row, TableRef, TableSchema, Value } from "@zero-etl/core";
import { freezeSchema, isSameLogicalType } from "@zero-etl/core";
import { formatLsn } from "./lsn.js";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { createPgValueDecoder, pgLogicalType, type PgValueDecoder } from "./pg-value-decoder.js";
import { UNCHANGED_TOAST, type PgoutputMessage, type TupleValue } from "./pgoutput-decoder.js";
import type { PostgresTableInfo } from "./postgres-introspector.js";

type RelationMessage = Extract<PgoutputMessage, { tag: "relation" }>;

/** What the builder knows about one relation OID. */
interface RelationState {
  readonly selected: boolean;
  readonly table: TableRef;
  readonly schema: TableSchema;
  readonly names: readonly string[];
  /** `typeOid:typeMod` per column, as the Relation message gave them. */
  readonly typeKeys: readonly string[];
  readonly decoders: readonly PgValueDecoder[];
  /** Indexes of the columns that make an event's `key`. */
  readonly keyIndexes: readonly number[];
  /** Indexes of the primary-key columns (for updates that send no old image). */
  readonly pkIndexes: readonly number[];
}

/** Options of {@link PgoutputChangeBuilder}. */
export interface PgoutputChangeBuilderOptions {
  readonly includes: (ref: TableRef) => boolean;
  /** The selected tables as introspected when the stream started (version 1 schemas). */
  readonly tables: readonly PostgresTableInfo[];
  readonly types: PgTypeCatalog;
  /** Loads unknown type OIDs into `types`. */
  readonly resolveTypes: (oids: readonly number[]) => Promise<void>;
  /** Reads one table's current catalog state (for nullability and primary key after a schema change). */
  readonly reintrospect: (relationOid: number) => Promise<PostgresTableInfo | undefined>;
}

/**
 * Turns pgoutput messages into {@link ChangeEvent}s: keeps per-relation
 * schemas keyed by relation OID, emits a `schema` event (version + 1) when a
 * Relation message changes a table's columns, decodes tuples with the same
 * value decoders as the snapshot, and fills `key` / `before` / `unchanged`
 * as the `UpdateEvent` contract says. Not thread-safe; one per stream.
 */
export class PgoutputChangeBuilder {
  private readonly relations = new Map<number, RelationState>();
  private readonly byTable = new Map<string, PostgresTableInfo>();
  private readonly versions = new Map<string, TableSchema>();
  private readonly stale = new Set<string>();
  private xid: string | undefined;
  private commitTime: number | undefined;
  private commitPosition: string | undefined;

  constructor(private readonly options: PgoutputChangeBuilderOptions) {
    for (const info of options.tables) {
      const key = refKey(info.schema.table);
      this.byTable.set(key, info);
      this.versions.set(key, info.schema);
    }
  }

  /** Registers a Relation message; pushes a `schema` event when the table's columns changed. */
  async relation(message: RelationMessage, position: bigint, out: ChangeEvent[]): Promise<void> {
    const table: TableRef = { namespace: message.namespace, name: message.name };
    const previousState = this.relations.get(message.relationOid);
    if (previousState !== undefined && sameRelation(previousState, message)) return;
    if (!this.options.includes(table)) {
      this.relations.set(message.relationOid, { selected: false, table, schema: emptySchema(table), names: [], typeKeys: [], decoders: [], keyIndexes: [], pkIndexes: [] });
      return;
    }
    const oids = message.columns.map((c) => c.typeOid);
    if (!this.options.types.has(oids)) await this.options.resolveTypes(oids);
    const key = refKey(table);
    const current = this.versions.get(key);
    // a stale predecessor's nullability does not carry over: the catalog decides
    const stale = this.stale.delete(key);
    const basis = stale ? undefined : current;
    let info = this.byTable.get(key);
    const columns = buildColumns(message, this.options.types, info, basis);
    let changed = current === undefined || stale || !sameColumns(current.columns, columns);
    if (changed) {
      info = (await this.options.reintrospect(message.relationOid)) ?? info;
      if (info !== undefined) this.byTable.set(key, info);
    }
    const built = buildColumns(message, this.options.types, info, basis);
    const names = built.map((c) => c.name);
    const primaryKey = (info?.schema.primaryKey ?? []).filter((n) => names.includes(n));
    const schema = changed
      ? freezeSchema({ table, columns: built, primaryKey, version: (current?.version ?? 0) + 1 })
      : (current as TableSchema);
    changed = changed && current !== undefined;
    this.versions.set(key, schema);
    const pkIndexes = schema.primaryKey.map((n) => names.indexOf(n));
    const identity = message.columns.flatMap((c, i) => (c.isKey ? [i] : []));
    const pkInIdentity = pkIndexes.length > 0 && pkIndexes.every((i) => message.columns[i]?.isKey === true);
    const keyIndexes = pkInIdentity || identity.length === 0 ? pkIndexes : identity;
    this.relations.set(message.relationOid, {
      selected: true,
      table,
      schema,
      names,
      typeKeys: message.columns.map((c) => `${c.typeOid}:${c.typeMod}`),
      decoders: message.columns.map((c) => createPgValueDecoder(this.options.types.get(c.typeOid) ?? { kind: "other", oid: c.typeOid, name: "" })),
      keyIndexes,
      pkIndexes,
    });
    if (changed || current === undefined) {
      const event: { -readonly [K in keyof Extract<ChangeEvent, { op: "schema" }>]: Extract<ChangeEvent, { op: "schema" }>[K] } = {
        op: "schema",
        table,
        position: formatLsn(position),
        schema,
      };
      if (current !== undefined) event.previous = current;
      this.stamp(event);
      out.push(event);
    }
  }

  /**
   * Marks what is known of a table name as stale (dropped, renamed away, or
   * about to be re-read): the next Relation message for that name re-reads
   * its catalog entry and gives a schema event (the next version, so
   * versions never repeat), even when its columns look the same.
   */
  forget(ref: TableRef): void {
    this.stale.add(refKey(ref));
  }

  /**
   * A statement at `position` renamed columns of a selected table
   * (`renamed`: new name -> old name): pushes a `schema` event with the
   * renamed schema and `renamed`, so the target renames in place. The
   * Relation message that follows then matches it and adds nothing. Returns
   * false, pushing nothing, when the stream's schema of the table cannot say
   * which columns these are (unknown or stale table, old and new names both
   * or neither there): the caller re-reads the table instead. When it holds
   * every new name and no old one (introspected after the rename, which the
   * stream is replaying), the event carries that schema.
   */
  renameColumns(ref: TableRef, renamed: Readonly<Record<string, string>>, position: bigint, out: ChangeEvent[]): boolean {
    const key = refKey(ref);
    const current = this.versions.get(key);
    if (current === undefined || this.stale.has(key)) return false;
    const names = new Set(current.columns.map((c) => c.name));
    const entries = Object.entries(renamed);
    if (entries.length === 0) return false;
    // the schema introspected when the stream started may already be past this rename (it happened while no
    // pipeline streamed): every new name there, no old one, is that; a mix, or both names present, is not clear
    const ahead = entries.every(([to, from]) => names.has(to) && !names.has(from));
    if (!ahead && entries.some(([to, from]) => !names.has(from) || names.has(to))) return false;
    if (ahead) {
      // pgoutput may send the table's new Relation, and rows under the new names, before the capture's message
      // of the same transaction: the schema event of that Relation becomes the rename, or without one (the
      // introspected schema matched it) the rename goes before the table's first event still unsent
      const last = lastSchemaEventIndex(out, current.table);
      if (last >= 0) {
        const earlier = out[last] as Extract<ChangeEvent, { op: "schema" }>;
        const before = new Set(earlier.previous?.columns.map((c) => c.name) ?? []);
        if (earlier.schema !== current || !entries.every(([to, from]) => before.has(from) && !before.has(to))) return false;
        (earlier as { renamed?: Readonly<Record<string, string>> }).renamed = { ...earlier.renamed, ...renamed };
        return true;
      }
      const schema = freezeSchema({ ...current, version: current.version + 1 });
      this.versions.set(key, schema);
      const event = this.stamp({ op: "schema" as const, table: current.table, position: formatLsn(position), schema, previous: current, renamed: { ...renamed } });
      const first = out.findIndex((e) => e.table.namespace === current.table.namespace && e.table.name === current.table.name);
      if (first < 0) out.push(event);
      else out.splice(first, 0, event);
      return true;
    }
    const newName = new Map(entries.map(([to, from]) => [from, to]));
    const rename = (name: string) => newName.get(name) ?? name;
    const schema = freezeSchema({
      table: current.table,
      columns: current.columns.map((c) => (newName.has(c.name) ? { ...c, name: rename(c.name) } : c)),
      primaryKey: current.primaryKey.map(rename),
      version: current.version + 1,
    });
    this.versions.set(key, schema);
    out.push(this.stamp({ op: "schema", table: current.table, position: formatLsn(position), schema, previous: current, renamed: { ...renamed } }));
    return true;
  }

  /** The schema currently in force for a selected table, if the stream has seen or introspected it. */
  schemaOf(ref: TableRef): TableSchema | undefined {
    return this.versions.get(refKey(ref));
  }

  /** Starts a transaction (Begin message, whose final LSN is the transaction's commit). */
  begin(xid: number, commitTime: number, finalLsn: bigint): void {
    this.xid = String(xid);
    this.commitTime = commitTime;
    this.commitPosition = formatLsn(finalLsn);
  }

  /** Ends the current transaction. */
  commit(): void {
    this.xid = undefined;
    this.commitTime = undefined;
    this.commitPosition = undefined;
  }

  /**
   * Pushes the events of one Insert, Update, Delete or Truncate message at
   * `position` (rows of unselected or unknown relations are skipped).
   */
  change(message: PgoutputMessage, position: bigint, out: ChangeEvent[]): void {
    switch (message.tag) {
      case "insert": {
        const rel = this.relations.get(message.relationOid);
        if (rel === undefined || !rel.selected) return;
        out.push(this.stamp({ op: "insert", table: rel.table, position: formatLsn(position), after: decodeRow(rel, message.newTuple, undefined) }));
        return;
      }
      case "update": {
        const rel = this.relations.get(message.relationOid);
        if (rel === undefined || !rel.selected) return;
        let unchanged: string[] | undefined;
        const after = decodeRow(rel, message.newTuple, (name) => (unchanged ??= []).push(name));
        const old = message.oldTuple;
        const event: {
          op: "update";
          table: TableRef;
          position: string;
          key: Row;
          after: Row;
          before?: Row;
          unchanged?: readonly string[];
        } = {
          op: "update",
          table: rel.table,
          position: formatLsn(position),
          key: old === undefined ? pickKey(rel, message.newTuple, rel.pkIndexes.length > 0 ? rel.pkIndexes : rel.keyIndexes) : pickKey(rel, old, rel.keyIndexes),
          after,
        };
        if (old !== undefined && message.oldKind === "O") event.before = decodeRow(rel, old, undefined);
        if (unchanged !== undefined) event.unchanged = unchanged;
        out.push(this.stamp(event));
        return;
      }
      case "delete": {
        const rel = this.relations.get(message.relationOid);
        if (rel === undefined || !rel.selected) return;
        const event: { op: "delete"; table: TableRef; position: string; key: Row; before?: Row } = {
          op: "delete",
          table: rel.table,
          position: formatLsn(position),
          key: pickKey(rel, message.oldTuple, rel.keyIndexes),
        };
        if (message.oldKind === "O") event.before = decodeRow(rel, message.oldTuple, undefined);
        out.push(this.stamp(event));
        return;
      }
      case "truncate": {
        const at = formatLsn(position);
        for (const oid of message.relationOids) {
          const rel = this.relations.get(oid);
          if (rel === undefined || !rel.selected) continue;
          out.push(this.stamp({ op: "truncate", table: rel.table, position: at }));
        }
        return;
      }
      default:
        return;
    }
  }

  private stamp<T extends ChangeEvent>(event: T): T {
    const target = event as { commitTime?: number; transactionId?: string; commitPosition?: string };
    if (this.commitTime !== undefined) target.commitTime = this.commitTime;
    if (this.xid !== undefined) target.transactionId = this.xid;
    if (this.commitPosition !== undefined) target.commitPosition = this.commitPosition;
    return event;
  }
}

/** The index of the last schema event of `table` in `events`, or -1. */
function lastSchemaEventIndex(events: readonly ChangeEvent[], table: TableRef): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i];
    if (event?.op === "schema" && event.table.namespace === table.namespace && event.table.name === table.name) return i;
  }
  return -1;
}

function refKey(ref: TableRef): string {
  return `${ref.namespace}\u0000${ref.name}`;
}

function emptySchema(table: TableRef): TableSchema {
  return { table, columns: [], primaryKey: [], version: 0 };
}

function sameRelation(state: RelationState, message: RelationMessage): boolean {
  if (state.table.namespace !== message.namespace || state.table.name !== message.name) return false;
  if (!state.selected) return true;
  const cols = state.schema.columns;
  if (cols.length !== message.columns.length) return false;
  for (let i = 0; i < cols.length; i++) {
    const column = message.columns[i];
    if (column === undefined || state.names[i] !== column.name || state.typeKeys[i] !== `${column.typeOid}:${column.typeMod}`) return false;
  }
  return state.keyIndexes.length > 0 || message.columns.every((c) => !c.isKey);
}

/**
 * Columns and types come from the Relation message; nullability from the
 * stream's previous schema, else the catalog. Stored generated columns,
 * which the message leaves out, follow from the catalog (see the introspector).
 */
function buildColumns(message: RelationMessage, types: PgTypeCatalog, info: PostgresTableInfo | undefined, previous: TableSchema | undefined): ColumnSchema[] {
  const generated = (info?.schema.columns ?? []).filter((c) => c.type.native?.generatedAs !== undefined && !message.columns.some((m) => m.name === c.name));
  const sent = message.columns.map((c) => {
    const known = previous?.columns.find((k) => k.name === c.name) ?? info?.schema.columns.find((k) => k.name === c.name);
    const knownInfo = info?.columns.find((k) => k.name === c.name);
    const descriptor = types.get(c.typeOid) ?? { kind: "other" as const, oid: c.typeOid, name: "" };
    const column: { name: string; type: ColumnSchema["type"]; nullable: boolean; sourceType?: string } = {
      name: c.name,
      type: pgLogicalType(descriptor, c.typeMod),
      nullable: known?.nullable ?? true,
    };
    if (knownInfo !== undefined && knownInfo.typeOid === c.typeOid && knownInfo.typeMod === c.typeMod) column.sourceType = knownInfo.sqlType;
    return column;
  });
  return generated.length === 0 ? sent : [...sent, ...generated];
}

function sameColumns(a: readonly ColumnSchema[], b: readonly ColumnSchema[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.name !== y.name || !isSameLogicalType(x.type, y.type)) return false;
  }
  return true;
}

function decodeRow(rel: RelationState, tuple: TupleValue[], onUnchanged: ((name: string) => void) | undefined): Row {
  const row: Record<string, Value> = {};
  const names = rel.names;
  const decoders = rel.decoders;
  const n = Math.min(tuple.length, names.length);
  for (let i = 0; i < n; i++) {
    const raw = tuple[i] as TupleValue;
    const name = names[i] as string;
    if (typeof raw === "string") row[name] = (decoders[i] as PgValueDecoder)(raw);
    else if (raw === null) row[name] = null;
    else if (raw === UNCHANGED_TOAST) onUnchanged?.(name);
    else row[name] = raw;
  }
  return row;
}

function pickKey(rel: RelationState, tuple: TupleValue[], indexes: readonly number[]): Row {
  const row: Record<string, Value> = {};
  for (const i of indexes) {
    const raw = tuple[i];
    const name = rel.names[i] as string;
    if (typeof raw === "string") row[name] = (rel.decoders[i] as PgValueDecoder)(raw);
    else if (raw === null || raw === undefined) row[name] = null;
    else if (raw !== UNCHANGED_TOAST) row[name] = raw;
  }
  return row;
}
