/**
 * How a failed statement should be handled:
 * - `record`: the data of one row is at fault (a value out of range, invalid
 *   text for the type, a NOT NULL or CHECK violation); retrying row by row
 *   isolates it and it goes to the dead-letter queue;
 * - `transient`: the connection or the server's concurrency control failed
 *   (connection reset, serialization failure, deadlock); the call may succeed later;
 * - `fatal`: anything else (missing privilege, undefined column, ...).
 */
export type PgErrorClass = "record" | "transient" | "fatal";

interface PgErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly column?: unknown;
  readonly table?: unknown;
  readonly constraint?: unknown;
  readonly dataType?: unknown;
}

const RECORD_CODES = new Set(["23502", "23505", "23514", "23503", "23P01", "54000"]);
const TRANSIENT_CODES = new Set(["40001", "40P01", "57P01", "57P02", "57P03", "53300", "53400", "55P03", "57014"]);
const TRANSIENT_NODE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH"]);
const TRANSIENT_MESSAGES = /connection terminated|connection error|not queryable|timeout exceeded when trying to connect|socket hang up|query read timeout/i;

/** Classifies an error thrown by `pg` (through kysely). */
export function classifyPgError(error: unknown): PgErrorClass {
  const e = (error ?? {}) as PgErrorLike;
  const code = typeof e.code === "string" ? e.code : "";
  if (code.length === 5) {
    if (code.startsWith("22") || RECORD_CODES.has(code)) return "record";
    if (code.startsWith("08") || TRANSIENT_CODES.has(code)) return "transient";
    return "fatal";
  }
  if (TRANSIENT_NODE_CODES.has(code)) return "transient";
  if (typeof e.message === "string" && TRANSIENT_MESSAGES.test(e.message)) return "transient";
  return "fatal";
}

/**
 * The server's reason without row values, with the names an operator needs.
 * PostgreSQL quotes offending values only in data exceptions (class 22:
 * `invalid input syntax for type integer: "abc"`) and in messages raised by
 * user code (class P0, and unclassified errors), so only there is every
 * quoted part that is not the reported column, table, constraint or type
 * name elided. Elsewhere the quoted parts are identifiers (column, relation,
 * user, database, schema) and are kept. The SQLSTATE is kept for matching;
 * callers still pass the text through `redactText` for URL secrets.
 */
export function describePgError(error: unknown): string {
  const e = (error ?? {}) as PgErrorLike;
  const message = typeof e.message === "string" ? e.message : String(error);
  const sqlState = typeof e.code === "string" && e.code.length === 5 ? e.code : "";
  const mayQuoteValues = sqlState === "" || sqlState.startsWith("22") || sqlState.startsWith("P0") || sqlState.startsWith("XX");
  const names = new Set<string>();
  for (const n of [e.column, e.table, e.constraint, e.dataType]) if (typeof n === "string") names.add(n);
  const safe = mayQuoteValues
    ? message.replace(/"((?:[^"]|"")*)"/g, (whole, inner: string) => (names.has(inner) ? whole : "(value)")).replace(/:\s*\(value\)\s*$/, "")
    : message;
  const code = sqlState === "" ? "" : `SQLSTATE ${sqlState}: `;
  return `${code}${safe}`.slice(0, 500);
}
