import { ZeroEtlError, redactText } from "@zero-etl/core";

/** Server error numbers that another attempt cannot fix: bad credentials, unknown database, missing privilege. */
const PERMANENT = new Set([1044, 1045, 1049, 1227, 1251, 1698]);

/**
 * A `connection-failed` error that names the server (`host:port/database`)
 * and the driver's reason, never the password. Authentication and unknown
 * database errors are not retryable; network errors are.
 */
export function mysqlConnectionError(url: string, cause: unknown, during: "connect" | "use" = "connect"): ZeroEtlError {
  const server = describeMysqlServer(url);
  const errno = (cause as { errno?: unknown } | undefined)?.errno;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const reason =
    code === "ETIMEDOUT" && during === "connect"
      ? "no answer in time (timeouts.connectMs)"
      : cause instanceof Error
        ? redactText(cause.message).split(url).join(server)
        : "unknown error";
  return new ZeroEtlError(`${during === "connect" ? "cannot connect to" : "lost the connection to"} mysql source at ${server}: ${reason}`, {
    code: "connection-failed",
    retryable: !(typeof errno === "number" && PERMANENT.has(errno)),
    cause: cause instanceof Error ? Object.assign(new Error(reason), { code: (cause as { code?: unknown }).code, errno }) : undefined,
  });
}

/** `host:port/database` of a mysql:// URL, without user or password. */
export function describeMysqlServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "3306"}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "an unparsable URL";
  }
}
