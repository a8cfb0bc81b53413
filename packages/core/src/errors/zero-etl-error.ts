/** Machine-readable error codes. Extend, never rename: users match on them. */
export type ErrorCode =
  | "config-invalid"
  | "connection-failed"
  | "preflight-failed"
  | "position-invalid"
  | "position-lost"
  | "position-regressed"
  | "schema-unsupported"
  | "schema-refused"
  | "record-rejected"
  | "sink-failed"
  | "source-failed"
  | "checkpoint-failed"
  | "aborted"
  /** Another process runs this pipeline (holds its writer lock); nothing was touched. */
  | "pipeline-locked"
  | "internal";

/** Options of {@link ZeroEtlError}. */
export interface ZeroEtlErrorOptions {
  readonly code: ErrorCode;
  /** True when the same call may succeed later (network blip, deadlock, throttling). */
  readonly retryable?: boolean;
  readonly cause?: unknown;
  /** The table the error is about, as `namespace.name`. */
  readonly table?: string;
}

/**
 * The one error family of zero-etl. Messages name tables, columns and
 * positions, never row values or secrets. The cause is chained, not
 * stringified, so its stack survives.
 */
export class ZeroEtlError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly table: string | undefined;

  constructor(message: string, options: ZeroEtlErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ZeroEtlError";
    this.code = options.code;
    this.retryable = options.retryable ?? false;
    this.table = options.table;
  }
}

/** A configuration value is invalid: `path` names the field, `expected` says what would be valid. */
export class ConfigError extends ZeroEtlError {
  readonly path: string;
  readonly expected: string;

  constructor(path: string, expected: string, received?: string) {
    super(`${path}: expected ${expected}${received === undefined ? "" : `, got ${received}`}`, { code: "config-invalid" });
    this.name = "ConfigError";
    this.path = path;
    this.expected = expected;
  }
}

/** True when retrying the failed call may help. Unknown errors are not retried. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ZeroEtlError && error.retryable;
}
