/** Bind values by name: SCNs travel as decimal strings so that they never pass through a float. */
export type OracleBinds = Readonly<Record<string, string | number | null>>;

/**
 * A result row keyed by the column names of the select list (upper case as
 * Oracle reports them). NUMBER columns arrive as decimal strings, CLOBs as
 * strings, RAW and BLOB as `Uint8Array`, everything else as the driver gives it.
 */
export type OracleRow = Readonly<Record<string, unknown>>;

/**
 * The slice of an Oracle connection the source uses, so that tests replay
 * recorded catalog and LogMiner rows through a scripted implementation and
 * the real one ({@link connectOracleDatabase}) stays thin. All SQL comes
 * from `oracle-sql.ts`. One object is one database session: a LogMiner
 * session lives in it, so the stream keeps its own.
 */
export interface OracleDatabase {
  /** Runs a query and returns all its rows. */
  query(sql: string, binds?: OracleBinds): Promise<readonly OracleRow[]>;
  /** Runs a query and yields its rows as they are fetched (large results: V$LOGMNR_CONTENTS, snapshot chunks). */
  stream(sql: string, binds?: OracleBinds): AsyncIterable<OracleRow>;
  /** Runs a statement or PL/SQL block that returns no rows. */
  execute(sql: string, binds?: OracleBinds): Promise<void>;
  close(): Promise<void>;
}

/** Opens a new database session. */
export type OracleConnector = () => Promise<OracleDatabase>;

/** Reads an SCN (or any integer column) that arrives as a string or number; `undefined` for NULL. */
export function scnOf(value: unknown): bigint | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (typeof value === "bigint") return value;
  return BigInt(typeof value === "number" ? Math.trunc(value) : String(value).trim());
}
