import { ZeroEtlError, isTransientError } from "@zero-etl/core";

/**
 * Oracle errors after which the same work may succeed on a new session: the
 * connection dropped (ORA-03113/03114/03135, ORA-12514/12541/12170 while
 * the listener or instance restarts, the thin driver's NJS-500/501/503),
 * or a redo log vanished between listing and adding it (ORA-01284,
 * ORA-01291: the next window lists the logs again, and reports
 * `position-lost` if the redo is really gone).
 */
const RETRYABLE = /\b(ORA-03113|ORA-03114|ORA-03135|ORA-12514|ORA-12541|ORA-12170|ORA-01033|ORA-01089|ORA-01284|ORA-01291|NJS-500|NJS-501|NJS-503)\b/;

/**
 * Wraps a driver error as a `source-failed` error (`connection-failed` and
 * retryable when a new session may get past it), naming the ORA code and
 * what failed (`stream`, `query`); ZeroEtlErrors pass unchanged.
 */
export function oracleDriverError(error: unknown, what: "stream" | "query"): unknown {
  if (error instanceof ZeroEtlError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = /\b(ORA-\d{5}|NJS-\d{3})\b/.exec(message)?.[1];
  const retryable = RETRYABLE.test(message) || isTransientError(error);
  return new ZeroEtlError(`oracle ${what} failed${code === undefined ? "" : ` (${code})`}${retryable ? (what === "stream" ? "; reopening from the last checkpoint" : "; a new session is opened on the next call") : ""}`, {
    code: retryable ? "connection-failed" : "source-failed",
    retryable,
    cause: error,
  });
}
