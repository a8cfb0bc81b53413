/**
 * How long a connector waits for its servers. Every connector that opens
 * connections takes these; a timeout becomes a retryable `connection-failed`
 * error naming the side (source or target) and the host, so the runtime's
 * retry policy decides how long an unresponsive server is waited for.
 */
export interface ConnectionTimeouts {
  /** Opening a connection, TLS and authentication included. */
  readonly connectMs: number;
  /** One statement or query round trip; 0 means no limit. Never applied to a replication stream. */
  readonly queryMs: number;
  /** A replication stream that receives nothing (not even a keepalive it asked for) this long is treated as dead. */
  readonly keepaliveMs: number;
}

/** 10 s to connect, 5 min per query, 60 s of silence on a replication stream. */
export const DEFAULT_CONNECTION_TIMEOUTS: ConnectionTimeouts = Object.freeze({ connectMs: 10_000, queryMs: 300_000, keepaliveMs: 60_000 });

/** The defaults with the given fields replaced. */
export function resolveConnectionTimeouts(partial: Partial<ConnectionTimeouts> | undefined): ConnectionTimeouts {
  return Object.freeze({ ...DEFAULT_CONNECTION_TIMEOUTS, ...partial });
}
