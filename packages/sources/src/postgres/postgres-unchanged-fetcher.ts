import type pg from "pg";
import type { ChangeEvent, Row, TableRef, Value } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { RAW_TEXT_TYPES, quoteIdent } from "./postgres-connection.js";
import { introspectPostgres, type PostgresTableInfo } from "./postgres-introspector.js";

type UpdateEvent = Extract<ChangeEvent, { op: "update" }>;

/** Options of {@link createUnchangedFetcher}. */
export interface UnchangedFetcherOptions {
  readonly client: pg.ClientBase;
  readonly types: PgTypeCatalog;
  /** Tables whose updates must carry every column. */
  readonly tables: (ref: TableRef) => boolean;
  /** The published tables as introspected when the stream started. */
  readonly known: readonly PostgresTableInfo[];
}

/** Completes updates in place of a batch; see {@link createUnchangedFetcher}. */
export type UnchangedFetcher = (events: ChangeEvent[]) => Promise<void>;

/**
 * With the default replica identity an UPDATE that leaves a TOASTed value
 * unchanged carries neither that value nor the old row (`unchanged` lists
 * the column). A sink keeps the value it has, which is right for a row it
 * has, but a row that enters a row filter through such an update is new to
 * the target and would land with NULL. For the selected tables (those with a
 * row filter), this replaces each such update that has no `before` by one
 * whose `after` holds the missing values, read from the table by the row's
 * key: one query per table per batch.
 *
 * The read sees the table as it is now, not as it was at the update's
 * position. That is still correct in the end: a later change of the value
 * comes later in the stream, in full, and overwrites it; an update whose row
 * (or table) is not found any more is dropped from the batch, since the
 * delete, key change or table change that removed it follows in the stream. Only the intermediate state can show a
 * value from the future, as a snapshot taken while the stream replays does.
 * Rows whose key holds an array, JSON or composite value are left as they
 * are (`REPLICA IDENTITY FULL` on such a table avoids the read entirely,
 * since the stream then carries the whole old row).
 */
export function createUnchangedFetcher(options: UnchangedFetcherOptions): UnchangedFetcher {
  const infos = new Map(options.known.map((t) => [tableKey(t.schema.table), t]));
  return async (events) => {
    let pending: Map<string, number[]> | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      if (event === undefined || event.op !== "update" || event.unchanged === undefined || event.before !== undefined) continue;
      if (!options.tables(event.table)) continue;
      pending ??= new Map();
      const key = tableKey(event.table);
      const list = pending.get(key);
      if (list === undefined) pending.set(key, [i]);
      else list.push(i);
    }
    if (pending === undefined) return;
    const gone = new Set<number>();
    for (const [key, indexes] of pending) {
      let info = infos.get(key);
      const first = events[indexes[0] as number] as UpdateEvent;
      const wanted = new Set(indexes.flatMap((i) => (events[i] as UpdateEvent).unchanged ?? []));
      if (info === undefined || [...wanted].some((name) => !info?.columns.some((c) => c.name === name))) {
        const table = first.table;
        info = (
          await introspectPostgres(options.client, { includes: (ref) => ref.namespace === table.namespace && ref.name === table.name, types: options.types })
        )[0];
        if (info === undefined) {
          // the table is gone under this name (dropped, renamed or moved away since): its later table change makes these updates moot
          for (const i of indexes) gone.add(i);
          continue;
        }
        infos.set(key, info);
      }
      for (const i of await fill(options.client, info, [...wanted], indexes, events)) gone.add(i);
    }
    if (gone.size === 0) return;
    let kept = 0;
    for (let i = 0; i < events.length; i++) if (!gone.has(i)) events[kept++] = events[i] as ChangeEvent;
    events.length = kept;
  };
}

/**
 * Fills the updates at `indexes` from the table; returns the indexes of those
 * whose row (or table) is gone now: a later delete, key change or table
 * change in the stream accounts for it, so the update is dropped rather than
 * applied without its unchanged values (a row entering a filter would land
 * with NULL there, or be refused by a NOT NULL column).
 */
async function fill(client: pg.ClientBase, info: PostgresTableInfo, wanted: readonly string[], indexes: readonly number[], events: ChangeEvent[]): Promise<number[]> {
  const keyColumns = info.schema.primaryKey.map((name) => info.columns.find((c) => c.name === name));
  const fetched = wanted.map((name) => info.columns.find((c) => c.name === name));
  if (keyColumns.length === 0 || keyColumns.some((c) => c === undefined) || fetched.some((c) => c === undefined)) return [];
  const keys = keyColumns as NonNullable<(typeof keyColumns)[number]>[];
  const columns = fetched as NonNullable<(typeof fetched)[number]>[];
  // one text array per key column; the rows' positions in `indexes` come back as the ordinality
  const params: (string | null)[][] = keys.map(() => []);
  const asked: number[] = [];
  for (const index of indexes) {
    const after = (events[index] as UpdateEvent).after;
    const texts = keys.map((k) => keyText(after[k.name]));
    if (texts.some((t) => t === undefined)) continue;
    texts.forEach((t, k) => (params[k] as (string | null)[]).push(t as string));
    asked.push(index);
  }
  if (asked.length === 0) return [];
  const table = `${quoteIdent(info.schema.table.namespace)}.${quoteIdent(info.schema.table.name)}`;
  const aliases = keys.map((_, k) => `k${k}`);
  const text = `SELECT u.ord::int AS ord, ${columns.map((c) => `t.${quoteIdent(c.name)}`).join(", ")}
                  FROM unnest(${keys.map((_, k) => `$${k + 1}::text[]`).join(", ")}) WITH ORDINALITY AS u(${aliases.join(", ")}, ord)
                  JOIN ${table} t ON ${keys.map((c, k) => `t.${quoteIdent(c.name)} = u.k${k}::${c.sqlType}`).join(" AND ")}`;
  let result: pg.QueryResult<(string | null)[]>;
  try {
    result = await client.query<(string | null)[]>({ text, values: params, rowMode: "array", types: RAW_TEXT_TYPES });
  } catch (error) {
    // 42P01 undefined_table, 42703 undefined_column: renamed, moved or recreated since (a table change follows in the stream).
    // Class 22 (data exception: a key that no longer casts, 22P02, 22007, 22003…) and 42883/42846 (no operator or cast for
    // the key's type now): the table was recreated or its key column retyped since, and the key came from a value of the
    // old type, which always casts back to that type. The recreation or rewrite that follows in the stream re-reads it.
    const code = (error as { code?: unknown }).code;
    if (code === "42P01" || code === "42703" || code === "42883" || code === "42846" || (typeof code === "string" && code.startsWith("22"))) return asked;
    throw error;
  }
  const found = new Set<number>();
  for (const row of result.rows) {
    const index = asked[Number(row[0]) - 1];
    if (index === undefined) continue;
    found.add(index);
    const event = events[index] as UpdateEvent;
    const after: Record<string, Value> = { ...event.after };
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c] as (typeof columns)[number];
      if (!(event.unchanged ?? []).includes(column.name)) continue;
      const raw = row[c + 1];
      after[column.name] = raw === null || raw === undefined ? null : column.decode(raw);
    }
    const { unchanged: _unchanged, ...rest } = event;
    events[index] = { ...rest, after: after as Row };
  }
  return asked.filter((i) => !found.has(i));
}

/** The PostgreSQL input text of a decoded key value, or undefined for values not worth encoding back (arrays, JSON, composites). */
function keyText(value: Value | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString("hex")}`;
  return undefined;
}
