import type { LogicalType, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import type { PartitionLayout } from "@zero-etl/mappers";
import { REDSHIFT_MAX_VARCHAR_BYTES, toRedshiftType } from "@zero-etl/mappers";
import { foldRedshiftIdentifier, qualifiedRedshift, quoteRedshift } from "./redshift-identifier.js";

/** Redshift's most columns in a table. */
export const REDSHIFT_MAX_COLUMNS = 1600;

/** One column of a target table: its Redshift name and canonical type (`VARCHAR(400)`, `DECIMAL(10,2)`, `SUPER`). */
export interface RedshiftColumn {
  readonly name: string;
  readonly type: string;
}

/** A source column's place in the target: its source name, folded target name and wanted type. */
export interface RedshiftColumnPlan extends RedshiftColumn {
  readonly source: string;
  readonly logical: LogicalType;
}

/**
 * The target columns for a source schema: names folded as Redshift folds
 * them, types from `toRedshiftType`. Throws `schema-unsupported` naming the
 * table when two columns fold to one name or there are over 1,600 columns.
 */
export function planRedshiftColumns(schema: TableSchema): RedshiftColumnPlan[] {
  const seen = new Map<string, string>();
  const plans = schema.columns.map((column) => {
    const name = foldRedshiftIdentifier(column.name);
    const other = seen.get(name);
    if (other !== undefined) {
      throw new ZeroEtlError(`table ${tableKey(schema.table)}: columns ${other} and ${column.name} are one column in Redshift (${name}), which folds names to lower case`, {
        code: "schema-unsupported",
        table: tableKey(schema.table),
      });
    }
    seen.set(name, column.name);
    return { source: column.name, name, type: toRedshiftType(column.type).type, logical: column.type };
  });
  if (plans.length > REDSHIFT_MAX_COLUMNS) {
    throw new ZeroEtlError(`table ${tableKey(schema.table)} has ${plans.length} columns; Redshift allows ${REDSHIFT_MAX_COLUMNS}`, { code: "schema-unsupported", table: tableKey(schema.table) });
  }
  return plans;
}

/**
 * `CREATE TABLE IF NOT EXISTS` with the key as an (informational) primary
 * key, NOT NULL on key columns, and the layout's DISTSTYLE/DISTKEY/SORTKEY.
 */
export function compileCreateTable(target: { readonly schema: string; readonly table: string }, columns: readonly RedshiftColumnPlan[], key: readonly string[], layout: PartitionLayout | undefined): string {
  const keySet = new Set(key);
  const parts = columns.map((c) => `${quoteRedshift(c.name)} ${c.type}${keySet.has(c.name) ? " NOT NULL" : ""}`);
  if (key.length > 0) parts.push(`PRIMARY KEY (${key.map(quoteRedshift).join(", ")})`);
  let tail = "";
  if (layout !== undefined && layout.target === "redshift") {
    const fold = (name: string): string => columns.find((c) => c.source === name)?.name ?? foldRedshiftIdentifier(name);
    tail += layout.distStyle === "KEY" && layout.distKey !== undefined ? ` DISTSTYLE KEY DISTKEY (${quoteRedshift(fold(layout.distKey))})` : ` DISTSTYLE ${layout.distStyle}`;
    // without a SORTKEY clause Redshift picks one itself (AUTO)
    if (layout.sortKey.length > 0) tail += ` COMPOUND SORTKEY (${layout.sortKey.map((s) => quoteRedshift(fold(s))).join(", ")})`;
  }
  return `CREATE TABLE IF NOT EXISTS ${qualifiedRedshift(target.schema, target.table)} (${parts.join(", ")})${tail}`;
}

/**
 * The statements that create a table, each at most `maxBytes` long (the Data
 * API takes 100 KB): `CREATE TABLE` with the key, distribution and sort key
 * columns and as many others as fit, then one `ADD COLUMN` per remaining
 * column. Running them again is harmless (`IF NOT EXISTS`; `prepare` adds
 * only missing columns).
 */
export function compileCreateTableStatements(
  target: { readonly schema: string; readonly table: string },
  columns: readonly RedshiftColumnPlan[],
  key: readonly string[],
  layout: PartitionLayout | undefined,
  maxBytes: number,
): string[] {
  const whole = compileCreateTable(target, columns, key, layout);
  if (Buffer.byteLength(whole) <= maxBytes) return [whole];
  const pinned = new Set(key);
  if (layout !== undefined && layout.target === "redshift") {
    for (const name of [...(layout.distKey === undefined ? [] : [layout.distKey]), ...layout.sortKey]) pinned.add(columns.find((c) => c.source === name)?.name ?? foldRedshiftIdentifier(name));
  }
  const first = columns.filter((c) => pinned.has(c.name));
  const rest = columns.filter((c) => !pinned.has(c.name));
  let budget = maxBytes - Buffer.byteLength(compileCreateTable(target, first, key, layout));
  const take: RedshiftColumnPlan[] = [];
  while (rest.length > 0) {
    const next = rest[0] as RedshiftColumnPlan;
    const cost = Buffer.byteLength(`${quoteRedshift(next.name)} ${next.type}, `);
    if (cost > budget) break;
    budget -= cost;
    take.push(next);
    rest.shift();
  }
  const chosen = new Set([...first, ...take]);
  const create = compileCreateTable(target, columns.filter((c) => chosen.has(c)), key, layout);
  const alter = `ALTER TABLE ${qualifiedRedshift(target.schema, target.table)} ADD COLUMN`;
  return [create, ...rest.map((c) => `${alter} ${quoteRedshift(c.name)} ${c.type}`)];
}

/** Introspected facts of one column, as `information_schema.columns` reports them. */
export interface IntrospectedColumn {
  readonly dataType: string;
  readonly length: number | undefined;
  readonly precision: number | undefined;
  readonly scale: number | undefined;
}

/** The canonical type string (as `toRedshiftType` spells it) of an introspected column. */
export function canonicalRedshiftType(column: IntrospectedColumn): string {
  const t = column.dataType.toLowerCase();
  switch (t) {
    case "character varying":
      return `VARCHAR(${column.length ?? REDSHIFT_MAX_VARCHAR_BYTES})`;
    case "character":
      return `CHAR(${column.length ?? 1})`;
    case "numeric":
      return `DECIMAL(${column.precision ?? 18},${column.scale ?? 0})`;
    case "binary varying":
      return `VARBYTE(${column.length ?? 64000})`;
    case "time without time zone":
      return "TIME";
    case "time with time zone":
      return "TIMETZ";
    case "timestamp without time zone":
      return "TIMESTAMP";
    case "timestamp with time zone":
      return "TIMESTAMPTZ";
    default:
      return t.toUpperCase();
  }
}

const VARCHAR = /^VARCHAR\((\d+)\)$/;
const VARBYTE = /^VARBYTE\((\d+)\)$/;

/** How an existing column relates to the type a source column wants. */
export type ColumnFit = "same" | "grow-varchar" | "kept-wider" | "refused";

/**
 * Compares an existing target type with the wanted one: equal; a VARCHAR to
 * grow in place (`ALTER COLUMN ... TYPE VARCHAR(n)`); a target already wider
 * of the same family (kept); anything else is refused (Redshift alters no
 * other type in place).
 */
export function fitRedshiftColumn(existing: string, wanted: string): ColumnFit {
  if (existing === wanted) return "same";
  const a = VARCHAR.exec(existing);
  const b = VARCHAR.exec(wanted);
  if (a !== null && b !== null) return Number(b[1]) > Number(a[1]) ? "grow-varchar" : "kept-wider";
  const c = VARBYTE.exec(existing);
  const d = VARBYTE.exec(wanted);
  // Redshift cannot grow a VARBYTE in place
  if (c !== null && d !== null) return Number(c[1]) >= Number(d[1]) ? "kept-wider" : "refused";
  const wider: Record<string, readonly string[]> = { SMALLINT: ["INTEGER", "BIGINT"], INTEGER: ["BIGINT"], REAL: ["DOUBLE PRECISION"] };
  if (wider[wanted]?.includes(existing) === true) return "kept-wider";
  return "refused";
}
