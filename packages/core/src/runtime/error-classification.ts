import { ZeroEtlError } from "../errors/zero-etl-error.js";

/** Socket-level failures a later attempt can overcome: the peer went away, restarted or is not reachable yet. */
const TRANSIENT_SOCKET_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
]);

/** Driver messages for a connection that ended under a running call. */
const TRANSIENT_MESSAGES = /connection terminated|connection (?:closed|lost|ended)|server closed the connection|socket hang up|not queryable|closed state/i;

/**
 * True when the same call may succeed later. A {@link ZeroEtlError} says so
 * itself (`retryable`); any other error counts only when it is a dropped,
 * refused or reset connection, or SQL's connection-exception class (SQLSTATE
 * 08xxx, and 57P01–57P03: the server is shutting down or starting). Unknown
 * errors are not retried: retrying a bug only hides it for minutes.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof ZeroEtlError) return error.retryable;
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (TRANSIENT_SOCKET_CODES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code)) return true;
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" && TRANSIENT_MESSAGES.test(message);
}
