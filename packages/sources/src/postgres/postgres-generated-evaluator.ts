import type pg from "pg";
import type { ChangeEvent, LogicalType, Logger, Row, TableRef, Value } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { RAW_TEXT_TYPES, quoteIdent } from "./postgres-connection.js";
import { introspectPostgres, type PostgresGeneratedColumnInfo, type PostgresTableInfo } from "./postgres-introspector.js";

type RowEvent = Extract<ChangeEvent, { op: "insert" | "update" }>;

/** Options of {@link createGeneratedColumnEvaluator}. */
export interface GeneratedColumnEvaluatorOptions {
  readonly client: pg.ClientBase;
  readonly types: PgTypeCatalog;
  /** The published tables as introspected when the stream started. */
  readonly known: readonly PostgresTableInfo[];
  readonly logger: Logger;
}

/** Fills the stored generated columns of a batch's inserts and updates, in place; see {@link createGeneratedColumnEvaluator}. */
export interface GeneratedColumnEvaluator {
  (events: ChangeEvent[]): Promise<void>;
  /** Forgets what it knows of a table (its columns may have changed: a DDL message). */
  forget(table: TableRef): void;
  /**
   * A Relation message for the table: forgets it when it was evaluated
   * before in this stream (the message follows a schema change); the first
   * message of each table in a stream changes nothing, since the tables were
   * introspected when the stream started.
   */
  relationSeen(table: TableRef): void;
}

/** A table's generated columns and the columns each one's expression reads. */
interface TablePlan {
  readonly info: PostgresTableInfo;
  readonly columns: readonly { readonly column: PostgresGeneratedColumnInfo; readonly reads: readonly string[] }[];
  /** Every column some expression reads, with its type (to write its value as JSON). */
  readonly inputs: readonly { readonly name: string; readonly type: LogicalType | undefined }[];
}

/**
 * pgoutput (before PostgreSQL 18) does not send stored generated columns,
 * and a target such as Iceberg cannot compute them. For such a target this
 * evaluates each generated column's expression (`pg_get_expr`, which
 * PostgreSQL requires to be IMMUTABLE, so evaluating it later gives the
 * value the row got) over the rows of a batch at the source: one query per
 * table per batch, the rows passed as one JSON parameter and turned into the
 * table's row type by `json_populate_recordset` (values are never put into
 * the SQL text), only the columns the expressions read (`pg_depend`).
 *
 * An update whose input column is an unchanged TOAST value (not sent) lists
 * the generated column as unchanged too, so the target keeps its value: right
 * when the expression reads only such columns. A row without one of its
 * inputs (an event of an older shape, replayed after a rename) and a table
 * gone or changed under its name since (the query fails) get no value; a
 * table change later in the stream re-reads them.
 */
export function createGeneratedColumnEvaluator(options: GeneratedColumnEvaluatorOptions): GeneratedColumnEvaluator {
  const infos = new Map(options.known.map((t) => [tableKey(t.schema.table), t]));
  /** Per table: its plan, or null when it has no generated column (or is gone). */
  const plans = new Map<string, TablePlan | null>();

  const planOf = async (table: TableRef): Promise<TablePlan | null> => {
    const key = tableKey(table);
    const cached = plans.get(key);
    if (cached !== undefined) return cached;
    let info = infos.get(key);
    if (info === undefined) {
      info = (await introspectPostgres(options.client, { includes: (ref) => ref.namespace === table.namespace && ref.name === table.name, types: options.types }))[0];
      if (info !== undefined) infos.set(key, info);
    }
    const plan = info === undefined || info.generated.length === 0 ? null : await readPlan(options.client, info);
    plans.set(key, plan);
    return plan;
  };

  // the stream's events of one relation share its TableRef: most events find their plan without building a key
  let generation = 0;
  const byRef = new WeakMap<TableRef, { readonly generation: number; readonly plan: TablePlan | null }>();

  const evaluate = async (events: ChangeEvent[]): Promise<void> => {
    let pending: Map<string, number[]> | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      if (event === undefined || (event.op !== "insert" && event.op !== "update")) continue;
      const known = byRef.get(event.table);
      let plan: TablePlan | null;
      if (known !== undefined && known.generation === generation) plan = known.plan;
      else {
        plan = await planOf(event.table);
        byRef.set(event.table, { generation, plan });
      }
      if (plan === null) continue;
      pending ??= new Map();
      const key = tableKey(event.table);
      const list = pending.get(key);
      if (list === undefined) pending.set(key, [i]);
      else list.push(i);
    }
    if (pending === undefined) return;
    for (const [key, indexes] of pending) {
      const plan = plans.get(key);
      if (plan === undefined || plan === null) continue;
      await fill(options, plan, indexes, events);
    }
  };
  const forget = (table: TableRef): void => {
    generation++;
    const key = tableKey(table);
    plans.delete(key);
    infos.delete(key);
  };
  return Object.assign(evaluate, {
    forget,
    relationSeen(table: TableRef): void {
      if (plans.has(tableKey(table))) forget(table);
    },
  });
}

/** Which columns each generated column's expression reads, from the dependencies of its `pg_attrdef` entry. */
async function readPlan(client: pg.ClientBase, info: PostgresTableInfo): Promise<TablePlan> {
  const result = await client.query<{ name: string; reads: string[] }>({
    text: `SELECT a.attname::text AS name, array_agg(r.attname::text ORDER BY r.attnum) AS reads
             FROM pg_attrdef ad
             JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
             JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                             AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ad.adrelid AND d.refobjsubid > 0
             JOIN pg_attribute r ON r.attrelid = d.refobjid AND r.attnum = d.refobjsubid
            WHERE ad.adrelid = $1::oid AND a.attgenerated = 's' AND r.attnum <> a.attnum
            GROUP BY a.attname`,
    values: [info.oid],
  });
  const reads = new Map(result.rows.map((r) => [r.name, r.reads]));
  const columns = info.generated.map((column) => ({ column, reads: reads.get(column.name) ?? [] }));
  const names = [...new Set(columns.flatMap((c) => c.reads))];
  const inputs = names.map((name) => ({ name, type: info.schema.columns.find((c) => c.name === name)?.type }));
  return { info, columns, inputs };
}

/** Evaluates the plan's expressions for the events at `indexes` and sets the results into their rows. */
async function fill(options: GeneratedColumnEvaluatorOptions, plan: TablePlan, indexes: readonly number[], events: ChangeEvent[]): Promise<void> {
  const asked: number[] = [];
  const parts: string[] = [];
  for (const index of indexes) {
    const event = events[index] as RowEvent;
    const json = rowJson(plan, event);
    if (json === undefined) continue;
    asked.push(index);
    parts.push(json);
  }
  if (asked.length === 0) return;
  if (!(await evaluateRows(options, plan, asked, parts, events)) && asked.length > 1) {
    // one row the expressions or types refuse must not leave the batch's other rows without values
    for (let r = 0; r < asked.length; r++) await evaluateRows(options, plan, [asked[r] as number], [parts[r] as string], events);
  }
}

/** One query for the rows at `asked` (their inputs as JSON in `parts`); false when it failed (logged for a single row). */
async function evaluateRows(options: GeneratedColumnEvaluatorOptions, plan: TablePlan, asked: readonly number[], parts: readonly string[], events: ChangeEvent[]): Promise<boolean> {
  const table = plan.info.schema.table;
  const rowType = `${quoteIdent(table.namespace)}.${quoteIdent(table.name)}`;
  const text = `SELECT r.ordinality::int, ${plan.columns.map((c) => `(${c.column.expression})::text`).join(", ")}
                  FROM json_populate_recordset(NULL::${rowType}, $1::json) WITH ORDINALITY AS r`;
  let result: pg.QueryResult<(string | null)[]>;
  try {
    result = await options.client.query<(string | null)[]>({ text, values: [`[${parts.join(",")}]`], rowMode: "array", types: RAW_TEXT_TYPES });
  } catch (error) {
    // the table was renamed, dropped or changed since (a table change follows in the stream), or a value does not fit
    // its column's type now: that row gets no values (the error names no value, only the column or type)
    if (asked.length === 1) {
      options.logger.warn("stored generated columns not computed for a row; they land without values", { table: tableKey(table), error: (error as Error).message });
    }
    return false;
  }
  for (const row of result.rows) {
    const index = asked[Number(row[0]) - 1];
    if (index === undefined) continue;
    const event = events[index] as RowEvent;
    const after: Record<string, Value> = { ...event.after };
    let unchanged: string[] | undefined;
    for (let c = 0; c < plan.columns.length; c++) {
      const { column, reads } = plan.columns[c] as TablePlan["columns"][number];
      if (event.op === "update" && event.unchanged !== undefined && reads.some((name) => event.unchanged?.includes(name) === true)) {
        // an input was not sent (unchanged TOAST): the target keeps the value it has
        (unchanged ??= [...event.unchanged]).push(column.name);
        delete after[column.name];
        continue;
      }
      const raw = row[c + 1];
      after[column.name] = raw === null || raw === undefined ? null : column.decode(raw);
    }
    events[index] = unchanged !== undefined && event.op === "update" ? { ...event, after: after as Row, unchanged } : { ...event, after: after as Row };
  }
  return true;
}

/** The row's inputs as a JSON object for `json_populate_recordset`, or undefined when one is missing (an older shape). */
function rowJson(plan: TablePlan, event: RowEvent): string | undefined {
  const after = event.after;
  const unchanged = event.op === "update" ? event.unchanged : undefined;
  let out = "{";
  let first = true;
  for (const input of plan.inputs) {
    const value = after[input.name];
    if (value === undefined) {
      if (unchanged?.includes(input.name) === true) continue;
      return undefined;
    }
    out += `${first ? "" : ","}${JSON.stringify(input.name)}:${jsonOf(value, input.type)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * A value as JSON that `json_populate_recordset` reads back into the
 * column's type: JSON columns as their own text, integers beyond 2^53 and
 * non-finite floats as strings (which the type's input function parses),
 * bytes as `\x` hex, lists as arrays and structs as objects.
 */
function jsonOf(value: Value, type: LogicalType | undefined): string {
  if (value === null) return "null";
  if (type?.kind === "json" && typeof value === "string") return value;
  if (typeof value === "bigint") return `"${value.toString()}"`;
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : `"${String(value)}"`;
  if (typeof value === "string") return JSON.stringify(type?.kind === "date" || type?.kind === "timestamp" ? pgDateText(value) : value);
  if (typeof value === "boolean") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `"\\\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}"`;
  const element = type?.kind === "list" ? type.element : undefined;
  if (Array.isArray(value)) return `[${value.map((v: Value) => jsonOf(v, element)).join(",")}]`;
  const fields = type?.kind === "struct" ? type.fields : undefined;
  const entries = Object.entries(value as Readonly<Record<string, Value>>).map(([k, v]) => `${JSON.stringify(k)}:${jsonOf(v, fields?.find((f) => f.name === k)?.type)}`);
  return `{${entries.join(",")}}`;
}

const ASTRONOMICAL_YEAR = /^([+-]?)(\d{4,})(-.*)$/;

/**
 * A date or timestamp in the neutral form (ISO 8601 with astronomical years:
 * `-0043-03-15` is 44 BC) as PostgreSQL's input reads it (`0044-03-15 BC`);
 * `infinity` and years 1 onward pass as they are.
 */
function pgDateText(value: string): string {
  const match = ASTRONOMICAL_YEAR.exec(value);
  if (match === null) return value;
  const year = Number(match[2]) * (match[1] === "-" ? -1 : 1);
  if (year > 0) return `${match[2]}${match[3]}`;
  return `${String(1 - year).padStart(4, "0")}${match[3]} BC`;
}
