import type { TableChange, TableRef } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/** One attribute as the capture reports it (dropped ones keep the name they had). */
interface CapturedColumn {
  readonly n: number;
  readonly name: string;
  readonly dropped: boolean;
  /** `pg_attribute.atthasmissing`: rows written before the column existed read a non-null default. */
  readonly missing: boolean;
  /** Part of the key rows are identified by (replica identity index, else primary key); undefined in state an older capture recorded. */
  readonly key: boolean | undefined;
}

interface CapturedState {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly CapturedColumn[];
}

/** A decoded capture message (see postgres-ddl-capture.ts). */
export type DdlMessage =
  | { readonly op: "alter"; readonly oid: number; readonly tag: string; readonly now: CapturedState; readonly before: CapturedState | undefined }
  | { readonly op: "drop"; readonly oid: number; readonly table: TableRef }
  | { readonly op: "rewrite"; readonly oid: number; readonly table: TableRef };

/** Parses the JSON of one capture message; throws `source-failed` naming what is wrong. */
export function parseDdlMessage(content: Uint8Array): DdlMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString("utf8"));
  } catch (error) {
    throw malformed("not JSON", error);
  }
  const m = raw as Record<string, unknown>;
  if (typeof m !== "object" || m === null || m.v !== 1) throw malformed("unknown version");
  const oid = Number(m.oid);
  if (!Number.isInteger(oid)) throw malformed("oid");
  switch (m.op) {
    case "alter":
      return { op: "alter", oid, tag: String(m.tag ?? ""), now: state(m), before: m.before === null || m.before === undefined ? undefined : state(m.before as Record<string, unknown>) };
    case "drop":
    case "rewrite":
      return { op: m.op, oid, table: ref(m) };
    default:
      throw malformed(`op ${String(m.op)}`);
  }
}

function ref(m: Record<string, unknown>): TableRef {
  if (typeof m.schema !== "string" || typeof m.name !== "string") throw malformed("table name");
  return { namespace: m.schema, name: m.name };
}

function state(m: Record<string, unknown>): CapturedState {
  const table = ref(m);
  if (!Array.isArray(m.columns)) throw malformed("columns");
  const columns = (m.columns as Record<string, unknown>[]).map((c) => ({ n: Number(c.n), name: String(c.name), dropped: c.dropped === true, missing: c.missing === true, key: typeof c.key === "boolean" ? c.key : undefined }));
  return { schema: table.namespace, name: table.name, columns };
}

function malformed(what: string, cause?: unknown): ZeroEtlError {
  return new ZeroEtlError(`malformed zeroetl DDL message: ${what}`, { code: "source-failed", ...(cause === undefined ? {} : { cause }) });
}

/**
 * Columns of a selected table renamed by one statement and nothing else:
 * `renamed` maps new names to old ones. The stream turns it into a schema
 * event with `renamed`, so the target renames in place instead of re-reading.
 */
export interface ColumnRename {
  readonly kind: "columns-renamed";
  readonly table: TableRef;
  readonly position: string;
  readonly renamed: Readonly<Record<string, string>>;
}

/**
 * Decides what a captured DDL statement means for the target, from the
 * message alone (never from the catalog now, which may be far ahead of the
 * WAL position being decoded):
 *
 * - a table renamed or moved to another schema: `dropped` for the old name
 *   when it was selected, `refresh` for the new one when it is selected;
 * - a table created (or seen without recorded state): `refresh` when selected;
 * - a selected table whose existing rows changed without row events:
 *   rewritten (`ALTER COLUMN ... TYPE ... USING`, a volatile default), a
 *   column added with a default those rows take (`atthasmissing`), a column
 *   dropped and added again under the same name, or a column renamed onto
 *   a name the table had before (a target keeps columns the source dropped,
 *   so that rename is re-read rather than half-filled): `refresh`;
 * - a statement that only renamed columns of a selected table (same
 *   attribute numbers, new names no column had): {@link ColumnRename}, which
 *   the stream turns into a schema event the target renames by (anything
 *   else in the same diff makes it a `refresh`);
 * - a selected table dropped: `dropped`.
 *
 * Column additions without a default, drops and widenings need nothing here:
 * the Relation message before the next row brings them as a schema event.
 */
export function interpretDdlMessage(message: DdlMessage, position: string, includes: (ref: TableRef) => boolean): (TableChange | ColumnRename)[] {
  switch (message.op) {
    case "drop":
      return includes(message.table) ? [{ kind: "dropped", table: message.table, position, reason: "table dropped" }] : [];
    case "rewrite":
      return includes(message.table) ? [{ kind: "refresh", table: message.table, position, reason: "table rewritten (e.g. ALTER COLUMN ... TYPE ... USING)" }] : [];
    case "alter":
      return interpretAlter(message, position, includes);
  }
}

function interpretAlter(message: Extract<DdlMessage, { op: "alter" }>, position: string, includes: (ref: TableRef) => boolean): (TableChange | ColumnRename)[] {
  const now: TableRef = { namespace: message.now.schema, name: message.now.name };
  const before = message.before;
  if (before === undefined) {
    if (!includes(now)) return [];
    const created = /^(CREATE TABLE|SELECT INTO)/.test(message.tag);
    return [{ kind: "refresh", table: now, position, reason: created ? "table created" : `${message.tag} on a table the capture had no state for` }];
  }
  const old: TableRef = { namespace: before.schema, name: before.name };
  if (old.namespace !== now.namespace || old.name !== now.name) {
    const out: TableChange[] = [];
    if (includes(old)) out.push({ kind: "dropped", table: old, position, reason: `renamed to ${now.namespace}.${now.name}` });
    if (includes(now)) out.push({ kind: "refresh", table: now, position, reason: `renamed from ${old.namespace}.${old.name}` });
    return out;
  }
  if (!includes(now)) return [];
  const reasons: string[] = [];
  const renames: string[] = [];
  const renamed: Record<string, string> = {};
  const previous = new Map(before.columns.map((c) => [c.n, c]));
  for (const column of message.now.columns) {
    if (column.dropped) continue;
    const was = previous.get(column.n);
    if (was === undefined) {
      if (column.missing) reasons.push(`column ${column.name} added with a default the existing rows take`);
      else if (before.columns.some((c) => c.name === column.name)) reasons.push(`column ${column.name} dropped and added again`);
    } else if (was.name !== column.name) {
      renames.push(`column ${was.name} renamed to ${column.name}`);
      // a name the table had (a dropped column the target still keeps, or a swap through it) is ambiguous: re-read
      if (was.dropped || before.columns.some((c) => c.name === column.name)) reasons.push(`column ${was.name} renamed to ${column.name}, a name the table had`);
      else renamed[column.name] = was.name;
    }
  }
  const keyChange = describeKeyChange(before.columns, message.now.columns);
  if (keyChange !== undefined) reasons.push(keyChange);
  if (reasons.length > 0) return [{ kind: "refresh", table: now, position, reason: [...reasons, ...renames].join("; ") }];
  return renames.length === 0 ? [] : [{ kind: "columns-renamed", table: now, position, renamed }];
}

/**
 * A change of the columns rows are identified by (`REPLICA IDENTITY USING
 * INDEX`, back to `DEFAULT`, a primary key added or dropped), compared by
 * attribute number so a rename is not one. The target keys its table by
 * them and cannot re-key it in place, so the table is re-read. Undefined
 * when the key is the same, when the table had or has no key at all (the
 * publication guard's case), or when the state before was recorded without keys.
 */
function describeKeyChange(before: readonly CapturedColumn[], now: readonly CapturedColumn[]): string | undefined {
  const live = (columns: readonly CapturedColumn[]) => columns.filter((c) => !c.dropped);
  if ([...live(before), ...live(now)].some((c) => c.key === undefined)) return undefined;
  const keyOf = (columns: readonly CapturedColumn[]) => live(columns).filter((c) => c.key === true);
  const was = keyOf(before);
  const is = keyOf(now);
  // a table losing its key, or a keyless one gaining one, is the publication guard's (it leaves and rejoins the publication)
  if (was.length === 0 || is.length === 0) return undefined;
  if (was.length === is.length && was.every((c) => is.some((d) => d.n === c.n))) return undefined;
  const names = (columns: readonly CapturedColumn[]) => `(${columns.map((c) => c.name).join(", ")})`;
  return `key changed from ${names(was)} to ${names(is)} (replica identity or primary key)`;
}
