/** A result row of {@link RedshiftStatementRunner.query}: column name to its text, or null. */
export type RedshiftResultRow = Readonly<Record<string, string | null>>;

/**
 * The narrow transport the Redshift sink needs; the Data API and the
 * PostgreSQL wire protocol both implement it with the same SQL.
 *
 * Statements never carry row values: rows reach Redshift through staged
 * files and `COPY`, and the few values a query needs are named parameters
 * (`:name`).
 */
export interface RedshiftStatementRunner {
  /** Most statements one `transaction` call takes (the Data API: 40); absent means no limit. */
  readonly maxTransactionStatements?: number;
  /**
   * Runs `statements` in order as one transaction: all of them commit or none
   * does. Resolves once committed. Throws a `ZeroEtlError` (retryable when a
   * later try may succeed, e.g. throttling or a lost connection) otherwise.
   */
  transaction(statements: readonly string[], signal?: AbortSignal): Promise<void>;
  /**
   * Runs one statement on its own, outside any transaction block (Redshift
   * runs `ALTER TABLE ... ALTER COLUMN ... TYPE` only so).
   */
  execute(statement: string, signal?: AbortSignal): Promise<void>;
  /** Runs one read-only query with named `:name` parameters and returns its rows as text. */
  query(statement: string, parameters?: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<RedshiftResultRow[]>;
  /** Releases connections; the runner is not used afterwards. */
  close(): Promise<void>;
}

/** The `:name` parameters of a statement, in order of appearance, with each name once. */
export function namedParameters(statement: string): string[] {
  const names: string[] = [];
  for (const match of statement.matchAll(/(?<!:):([a-z_][a-z0-9_]*)/gi)) {
    const name = match[1];
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names;
}
