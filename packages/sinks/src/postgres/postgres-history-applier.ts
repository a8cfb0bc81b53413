import { sql } from "kysely";
import type { InsertEvent, Row, RowChangeEvent, TableRef, TruncateEvent, Value } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { TableFold } from "./postgres-change-folder.js";
import { keyString } from "./postgres-change-folder.js";
import { pgTableRef } from "./postgres-ddl-compiler.js";
import type { PgSqlCompiler } from "./postgres-dml-compiler.js";
import { unnestElementType, unnestRows } from "./postgres-dml-compiler.js";
import { HISTORY_COLUMNS, PENDING_POSITION, isHistoryColumn } from "./postgres-history-table.js";
import type { PostgresSession } from "./postgres-session.js";
import type { TargetTable } from "./postgres-table-syncer.js";
import { toPgParameter } from "./postgres-value-encoder.js";

/** The table recording the truncates applied to history tables: a truncate closes versions by no key, so it is guarded by its position here. */
export const HISTORY_TRUNCATES_TABLE = "_zeroetl_history_truncates";

/** Rows per array-parameter statement. */
const ROWS_PER_STATEMENT = 5_000;

/**
 * Runs `exec` on `items`: in careful mode under a savepoint and, when a
 * record is at fault, item by item, reporting the failing ones to `reject`.
 * Supplied by the {@link ChangeApplier} so both appliers isolate bad records alike.
 */
export type GuardedRunner = <T>(items: readonly T[], exec: (items: readonly T[]) => Promise<unknown>, reject: (item: T, reason: string) => void) => Promise<void>;

/** A version row about to be inserted. */
interface Version {
  row: Row;
  readonly from: string;
  readonly fromTime: string | null;
  to: string | null;
  toTime: string | null;
  readonly op: "insert" | "update" | "snapshot";
}

interface KeyClose {
  readonly key: Row;
  readonly position: string;
  readonly time: string | null;
}

/**
 * Applies changes to history-mode tables (slowly changing dimension, type 2):
 * every change adds or closes versions, nothing is overwritten or deleted.
 * Events apply in source order, never folded. An insert opens a version at
 * the event's position; an update closes the current version of the old key
 * and opens one for the new key (columns the event does not carry, such as
 * unchanged TOAST values, are copied from the version it closes); a delete
 * closes the current version; a truncate closes every current version.
 *
 * Replay safety: an event is skipped when its key already has a version
 * opened or closed at the event's position, and so is every earlier event of
 * that key in the same run (a replay is always a prefix of what was applied).
 * This relies on positions being unique per row change within a table, which
 * holds for PostgreSQL (each change has its own WAL record LSN). Positions are
 * compared for equality only, never ordered as text.
 */
export class HistoryApplier {
  readonly #compile: PgSqlCompiler;
  readonly #schema: string;
  readonly #texts = new Map<string, string>();
  /** Tables holding versions opened or closed at {@link PENDING_POSITION} in the open transaction. */
  readonly #pending = new Map<string, TargetTable>();

  constructor(compile: PgSqlCompiler, schema: string) {
    this.#compile = compile;
    this.#schema = schema;
  }

  /** Forgets cached statement texts (a table's columns changed). */
  forgetStatements(): void {
    this.#texts.clear();
  }

  /** Applies a fold's history events and snapshot versions. */
  async applyFold(session: PostgresSession, fold: TableFold, target: TargetTable, guarded: GuardedRunner, reject: (event: RowChangeEvent, reason: string) => void): Promise<void> {
    if (fold.versions.length > 0) await this.#insertSnapshotVersions(session, fold.table, target, fold.versions, guarded, reject);
    const events = fold.history;
    let start = 0;
    for (let i = 0; i <= events.length; i++) {
      const event = events[i];
      if (event !== undefined && event.op !== "truncate") continue;
      if (i > start) await this.#applyRun(session, target, events.slice(start, i) as RowChangeEvent[], guarded, reject);
      if (event !== undefined) await this.#truncate(session, target, event);
      start = i + 1;
    }
  }

  /** Closes every current version at the (yet unknown) snapshot position, before a re-snapshot. */
  async reset(session: PostgresSession, table: TableRef, target: TargetTable): Promise<void> {
    const h = HISTORY_COLUMNS;
    const text = this.#text(`reset\u0000${target.name.table}`, () =>
      this.#compile(sql`UPDATE ${pgTableRef(target.name)} SET ${sql.id(h.validTo)} = ${sql.val(null)}, ${sql.id(h.validToTime)} = now(), ${sql.id(h.isCurrent)} = false WHERE ${sql.id(h.isCurrent)}`),
    );
    await session.run(text, [PENDING_POSITION]);
    this.#pending.set(tableKey(table), target);
  }

  /** Whether versions wait for the snapshot position. */
  get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  /** Replaces the pending position by `position` (the snapshot's), inside the flush transaction. */
  async resolvePending(session: PostgresSession, position: string): Promise<void> {
    const h = HISTORY_COLUMNS;
    for (const target of this.#pending.values()) {
      const from = sql.id(h.validFrom);
      const to = sql.id(h.validTo);
      const text = this.#compile(
        sql`UPDATE ${pgTableRef(target.name)} SET ${from} = CASE WHEN ${from} = '' THEN ${sql.val(null)} ELSE ${from} END, ${to} = CASE WHEN ${to} = '' THEN ${sql.val(null)} ELSE ${to} END WHERE ${from} = '' OR ${to} = ''`,
      );
      await session.run(text, [position, position]);
    }
  }

  /** The open transaction committed or was given up: nothing is pending any more. */
  clearPending(): void {
    this.#pending.clear();
  }

  async #insertSnapshotVersions(session: PostgresSession, table: TableRef, target: TargetTable, rows: readonly Row[], guarded: GuardedRunner, reject: (event: RowChangeEvent, reason: string) => void): Promise<void> {
    const now = new Date().toISOString();
    const versions: Version[] = rows.map((row) => ({ row, from: PENDING_POSITION, fromTime: now, to: null, toTime: null, op: "snapshot" }));
    this.#pending.set(tableKey(table), target);
    for (let start = 0; start < versions.length; start += ROWS_PER_STATEMENT) {
      await guarded(versions.slice(start, start + ROWS_PER_STATEMENT), (chunk) => this.#insertVersions(session, target, chunk), (version, reason) => {
        const synthetic: InsertEvent = { op: "insert", table, position: "snapshot", after: version.row };
        reject(synthetic, reason);
      });
    }
  }

  async #applyRun(session: PostgresSession, target: TargetTable, events: readonly RowChangeEvent[], guarded: GuardedRunner, reject: (event: RowChangeEvent, reason: string) => void): Promise<void> {
    const key = sourceKey(target);
    const applied = await this.#appliedEvents(session, target, key, events);
    const pending = applied.size === 0 ? events : events.filter((_e, i) => !applied.has(i));
    if (pending.length === 0) return;
    // one plan per statement chunk: a key's events within a chunk see each other, later chunks see the target
    for (let start = 0; start < pending.length; start += ROWS_PER_STATEMENT) {
      const chunk = start === 0 && pending.length <= ROWS_PER_STATEMENT ? pending : pending.slice(start, start + ROWS_PER_STATEMENT);
      await guarded(chunk, (items) => this.#applyVersions(session, target, key, items), reject);
    }
  }

  /** Indexes (in `events`) of the events already applied: see the class comment. */
  async #appliedEvents(session: PostgresSession, target: TargetTable, key: readonly string[], events: readonly RowChangeEvent[]): Promise<Set<number>> {
    const hits = new Set<number>();
    const h = HISTORY_COLUMNS;
    const text = this.#text(`applied\u0000${target.name.table}`, () => {
      const arrays = [...key.map((c) => arrayParameter(target, c)), sql`${sql.val(null)}::text[]`, sql`${sql.val(null)}::int4[]`];
      const aliases = [...key.map((_c, i) => sql.id(`k${i}`)), sql.id("p"), sql.id("i")];
      const match = key.map((c, i) => sql`t.${sql.id(c)} = e.${sql.id(`k${i}`)}`);
      return this.#compile(
        sql`SELECT e.i FROM unnest(${sql.join(arrays)}) AS e(${sql.join(aliases)}) WHERE EXISTS (SELECT 1 FROM ${pgTableRef(target.name)} t WHERE ${sql.join(match, sql` AND `)} AND (t.${sql.id(h.validFrom)} = e.p OR t.${sql.id(h.validTo)} = e.p))`,
      );
    });
    const keyStrings: string[][] = [];
    for (let start = 0; start < events.length; start += ROWS_PER_STATEMENT) {
      const columns: unknown[][] = key.map(() => []);
      const positions: string[] = [];
      const ordinals: number[] = [];
      const add = (row: Row, fallback: Row | undefined, i: number, position: string) => {
        for (let c = 0; c < key.length; c++) {
          const column = key[c] as string;
          (columns[c] as unknown[]).push(toPgParameter(row[column] ?? fallback?.[column]));
        }
        positions.push(position);
        ordinals.push(i);
      };
      const end = Math.min(events.length, start + ROWS_PER_STATEMENT);
      for (let i = start; i < end; i++) {
        const event = events[i] as RowChangeEvent;
        const keys: string[] = [];
        if (event.op === "insert") {
          add(event.after, undefined, i, event.position);
          keys.push(keyString(event.after, key));
        } else if (event.op === "update") {
          const oldKey = keyString(event.key, key);
          const newKey = keyString(event.after, key, event.key);
          add(event.key, undefined, i, event.position);
          keys.push(oldKey);
          // the same key probed once: its version closed or opened at this position shows either way
          if (newKey !== oldKey) {
            add(event.after, event.key, i, event.position);
            keys.push(newKey);
          }
        } else {
          add(event.key, undefined, i, event.position);
          keys.push(keyString(event.key, key));
        }
        keyStrings[i] = keys;
      }
      const rows = await this.#query<{ i: number }>(session, text, [...columns, positions, ordinals]);
      for (const row of rows) hits.add(Number(row.i));
    }
    if (hits.size === 0) return hits;
    // a later applied event of a key means every earlier one of that key was applied too
    const appliedKeys = new Set<string>();
    for (let i = events.length - 1; i >= 0; i--) {
      const keys = keyStrings[i] ?? [];
      if (hits.has(i)) {
        for (const k of keys) appliedKeys.add(k);
      } else if (keys.some((k) => appliedKeys.has(k))) {
        hits.add(i);
        for (const k of keys) appliedKeys.add(k);
      }
    }
    return hits;
  }

  async #applyVersions(session: PostgresSession, target: TargetTable, key: readonly string[], events: readonly RowChangeEvent[]): Promise<void> {
    const sourceColumns = target.columns.filter((c) => !isHistoryColumn(c));
    const previous = await this.#currentRowsFor(session, target, key, sourceColumns, events);
    const state = new Map<string, Version | null>();
    const closes: KeyClose[] = [];
    const versions: Version[] = [];
    const close = (k: string, keyRow: Row, position: string, time: string | null): Row | undefined => {
      if (state.has(k)) {
        const open = state.get(k);
        state.set(k, null);
        if (open === undefined || open === null) return undefined;
        open.to = position;
        open.toTime = time;
        return open.row;
      }
      state.set(k, null);
      closes.push({ key: keyRow, position, time });
      return previous.get(k);
    };
    for (const event of events) {
      const time = event.commitTime === undefined ? null : new Date(event.commitTime).toISOString();
      if (event.op === "insert") {
        const k = keyString(event.after, key);
        close(k, event.after, event.position, time);
        const version: Version = { row: event.after, from: event.position, fromTime: time, to: null, toTime: null, op: "insert" };
        versions.push(version);
        state.set(k, version);
      } else if (event.op === "update") {
        const oldKey = keyString(event.key, key);
        const newKey = keyString(event.after, key, event.key);
        const before = close(oldKey, event.key, event.position, time);
        if (newKey !== oldKey) close(newKey, withKey(event.after, event.key, key), event.position, time);
        const version: Version = { row: completeRow(event.after, before, sourceColumns), from: event.position, fromTime: time, to: null, toTime: null, op: "update" };
        versions.push(version);
        state.set(newKey, version);
      } else {
        close(keyString(event.key, key), event.key, event.position, time);
      }
    }
    if (closes.length > 0) await this.#closeVersions(session, target, key, closes);
    if (versions.length > 0) await this.#insertVersions(session, target, versions);
  }

  /**
   * The current target rows (as text, which the array casts parse back) of
   * the old keys of updates that lack some column, by key string.
   */
  async #currentRowsFor(session: PostgresSession, target: TargetTable, key: readonly string[], sourceColumns: readonly string[], events: readonly RowChangeEvent[]): Promise<Map<string, Row>> {
    const found = new Map<string, Row>();
    const wanted: Row[] = [];
    const wantedKeys: string[] = [];
    for (const event of events) {
      if (event.op !== "update") continue;
      if (sourceColumns.every((c) => event.after[c] !== undefined)) continue;
      wanted.push(event.key);
      wantedKeys.push(keyString(event.key, key));
    }
    if (wanted.length === 0) return found;
    const h = HISTORY_COLUMNS;
    const text = this.#compile(
      sql`SELECT e.zetl_i, ${sql.join(sourceColumns.map((c, i) => sql`t.${sql.id(c)}::text AS ${sql.id(`c${i}`)}`))} FROM unnest(${sql.join([...key.map((c) => arrayParameter(target, c)), sql`${sql.val(null)}::int4[]`])}) AS e(${sql.join([...key.map((_c, i) => sql.id(`k${i}`)), sql.id("zetl_i")])}) JOIN ${pgTableRef(target.name)} t ON ${sql.join(
        key.map((c, i) => sql`t.${sql.id(c)} = e.${sql.id(`k${i}`)}`),
        sql` AND `,
      )} WHERE t.${sql.id(h.isCurrent)}`,
    );
    const parameters: unknown[] = key.map((c) => wanted.map((row) => toPgParameter(row[c])));
    parameters.push(wanted.map((_r, i) => i));
    const rows = await this.#query<Record<string, string | null>>(session, text, parameters);
    for (const result of rows) {
      const row: Record<string, Value> = {};
      for (let i = 0; i < sourceColumns.length; i++) row[sourceColumns[i] as string] = result[`c${i}`] ?? null;
      found.set(wantedKeys[Number(result["zetl_i"])] as string, row);
    }
    return found;
  }

  async #closeVersions(session: PostgresSession, target: TargetTable, key: readonly string[], closes: readonly KeyClose[]): Promise<void> {
    const h = HISTORY_COLUMNS;
    const text = this.#text(`close\u0000${target.name.table}`, () => {
      const arrays = [...key.map((c) => arrayParameter(target, c)), sql`${sql.val(null)}::text[]`, sql`${sql.val(null)}::timestamptz[]`];
      const aliases = [...key.map((_c, i) => sql.id(`k${i}`)), sql.id("p"), sql.id("ts")];
      const match = key.map((c, i) => sql`t.${sql.id(c)} = e.${sql.id(`k${i}`)}`);
      return this.#compile(
        sql`UPDATE ${pgTableRef(target.name)} AS t SET ${sql.id(h.validTo)} = e.p, ${sql.id(h.validToTime)} = e.ts, ${sql.id(h.isCurrent)} = false FROM unnest(${sql.join(arrays)}) AS e(${sql.join(aliases)}) WHERE ${sql.join(match, sql` AND `)} AND t.${sql.id(h.isCurrent)}`,
      );
    });
    const parameters: unknown[] = key.map((c) => closes.map((entry) => toPgParameter(entry.key[c])));
    parameters.push(
      closes.map((entry) => entry.position),
      closes.map((entry) => entry.time),
    );
    await session.run(text, parameters);
  }

  async #insertVersions(session: PostgresSession, target: TargetTable, versions: readonly Version[]): Promise<void> {
    const columns = target.columns;
    const primaryKey = target.primaryKey;
    const text = this.#text(`insert\u0000${target.name.table}`, () => {
      const rows = unnestRows(
        columns,
        columns.map((c) => target.baseTypes.get(c) ?? "text"),
      );
      return this.#compile(sql`INSERT INTO ${pgTableRef(target.name)} (${sql.join(columns.map((c) => sql.id(c)))}) ${rows} ON CONFLICT (${sql.join(primaryKey.map((k) => sql.id(k)))}) DO NOTHING`);
    });
    const h = HISTORY_COLUMNS;
    const parameters: unknown[] = [];
    for (const column of columns) {
      const encode = target.encoders.get(column) ?? toPgParameter;
      const values = new Array<unknown>(versions.length);
      for (let r = 0; r < versions.length; r++) {
        const v = versions[r] as Version;
        switch (column) {
          case h.validFrom:
            values[r] = v.from;
            break;
          case h.validTo:
            values[r] = v.to;
            break;
          case h.validFromTime:
            values[r] = v.fromTime;
            break;
          case h.validToTime:
            values[r] = v.toTime;
            break;
          case h.isCurrent:
            values[r] = v.to === null;
            break;
          case h.op:
            values[r] = v.op;
            break;
          default:
            values[r] = encode(v.row[column]);
        }
      }
      parameters.push(values);
    }
    await session.run(text, parameters);
  }

  async #truncate(session: PostgresSession, target: TargetTable, event: TruncateEvent): Promise<void> {
    const marks = { schema: this.#schema, table: HISTORY_TRUNCATES_TABLE };
    const mark = this.#text("truncate-mark", () =>
      this.#compile(sql`INSERT INTO ${pgTableRef(marks)} (table_name, position) VALUES (${sql.val(null)}, ${sql.val(null)}) ON CONFLICT DO NOTHING`),
    );
    if ((await session.run(mark, [target.name.table, event.position])) === 0) return;
    const h = HISTORY_COLUMNS;
    const text = this.#text(`truncate\u0000${target.name.table}`, () =>
      this.#compile(
        sql`UPDATE ${pgTableRef(target.name)} SET ${sql.id(h.validTo)} = ${sql.val(null)}, ${sql.id(h.validToTime)} = ${sql.val(null)}::timestamptz, ${sql.id(h.isCurrent)} = false WHERE ${sql.id(h.isCurrent)}`,
      ),
    );
    await session.run(text, [event.position, event.commitTime === undefined ? null : new Date(event.commitTime).toISOString()]);
  }

  async #query<R>(session: PostgresSession, text: string, parameters: readonly unknown[]): Promise<R[]> {
    return session.query<R>(text, parameters);
  }

  #text(key: string, build: () => string): string {
    const cached = this.#texts.get(key);
    if (cached !== undefined) return cached;
    const text = build();
    if (this.#texts.size > 1_000) this.#texts.clear();
    this.#texts.set(key, text);
    return text;
  }
}

/** The statement that creates {@link HISTORY_TRUNCATES_TABLE} in a schema. */
export function compileHistoryTruncatesTable(compile: PgSqlCompiler, schema: string): string {
  return compile(sql`CREATE TABLE IF NOT EXISTS ${pgTableRef({ schema, table: HISTORY_TRUNCATES_TABLE })} (table_name text NOT NULL, position text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, position))`);
}

function sourceKey(target: TargetTable): readonly string[] {
  return target.primaryKey.filter((c) => c !== HISTORY_COLUMNS.validFrom);
}

function arrayParameter(target: TargetTable, column: string) {
  return sql`${sql.val(null)}::${sql.raw(`${unnestElementType(target.baseTypes.get(column) ?? "text")}[]`)}`;
}

/** The row with every source column: those the event lacks (unchanged TOAST values) come from the version it closes. */
function completeRow(after: Row, before: Row | undefined, columns: readonly string[]): Row {
  let complete = true;
  for (const c of columns) {
    if (after[c] === undefined) {
      complete = false;
      break;
    }
  }
  if (complete || before === undefined) return after;
  const row: Record<string, Value> = { ...before };
  for (const c in after) {
    const value = after[c];
    if (value !== undefined) row[c] = value;
  }
  return row;
}

function withKey(row: Row, fallback: Row, key: readonly string[]): Row {
  if (key.every((c) => row[c] !== undefined)) return row;
  const out: Record<string, Value> = { ...row };
  for (const c of key) if (out[c] === undefined) out[c] = fallback[c] ?? null;
  return out;
}

