import type { TableRef, TableSchema } from "@zero-etl/core";
import { ConfigError, tableKey } from "@zero-etl/core";

/**
 * How source tables are named in the target:
 * - `table`: the source table's name (`public.orders` -> `orders`);
 * - `schema_table`: the source namespace (schema, or MySQL database), `_`,
 *   the table's name (`s1.orders` -> `s1_orders`), as Debezium's JDBC sink
 *   names tables after `<schema>.<table>` topics with `.` replaced.
 */
export type TableNaming = "table" | "schema_table";

/** The resolved naming of one pipeline. */
export interface TargetNaming {
  readonly naming: TableNaming;
  /** The target table name of a source table. Pure; allocation-free for `table`. */
  tableName(ref: TableRef): string;
}

/** Options of {@link resolveTargetNaming}. */
export interface TargetNamingOptions {
  /** `mapping.tableNames` as configured; absent means automatic. */
  readonly configured?: TableNaming | undefined;
  /** Per include pattern, its literal namespace or undefined (from the table filter); absent without a filter. */
  readonly includeNamespaces?: readonly (string | undefined)[] | undefined;
  /** Whether the target can name tables other than by the source table name. */
  readonly supportsQualifiedNames: boolean;
  /** The target type, for messages. */
  readonly targetType: string;
}

/**
 * Decides the naming once, from the config alone (never from the tables
 * that happen to exist, so a table created later never renames the others):
 * `mapping.tableNames` when set; otherwise `schema_table` when the include
 * patterns name two or more different schemas literally
 * (`["s1.*", "s2.*"]`), else `table`, today's names. A selection that still
 * maps two tables to one name is refused by {@link assertDistinctTargetNames}.
 */
export function resolveTargetNaming(options: TargetNamingOptions): TargetNaming {
  let naming = options.configured;
  if (naming === "schema_table" && !options.supportsQualifiedNames) {
    throw new ConfigError("mapping.tableNames", `"table" (the ${options.targetType} target names tables by the source table name)`, naming);
  }
  if (naming === undefined) {
    const literal = new Set((options.includeNamespaces ?? []).filter((n): n is string => n !== undefined));
    naming = literal.size > 1 && options.supportsQualifiedNames ? "schema_table" : "table";
  }
  if (naming === "table") return Object.freeze({ naming, tableName: (ref: TableRef) => ref.name });
  return Object.freeze({ naming, tableName: (ref: TableRef) => `${ref.namespace}_${ref.name}` });
}

/**
 * Throws a {@link ConfigError} naming both tables when two selected source
 * tables would land in one target table (`s1.t` and `s2.t` under `table`
 * naming, or `s1.a_b` and `s1_a.b` under `schema_table`): merged tables
 * overwrite each other's rows, so the pipeline must not start.
 */
export function assertDistinctTargetNames(schemas: readonly TableSchema[], naming: TargetNaming): void {
  const seen = new Map<string, TableRef>();
  for (const schema of schemas) {
    const name = naming.tableName(schema.table);
    const other = seen.get(name);
    if (other !== undefined && tableKey(other) !== tableKey(schema.table)) {
      const fix = naming.naming === "table" ? 'set mapping.tableNames to "schema_table" (target tables named <schema>_<table>) or exclude one of them' : "exclude or rename one of them";
      throw new ConfigError(
        "mapping.tableNames",
        `a naming that keeps source tables apart: ${tableKey(other)} and ${tableKey(schema.table)} would both land in target table ${name}; ${fix}`,
        naming.naming,
      );
    }
    seen.set(name, schema.table);
  }
}
