import type pg from "pg";
import { ZeroEtlError } from "@zero-etl/core";
import { quoteIdent, quoteLiteral } from "./postgres-connection.js";
import { decodePgoutput, type PgoutputMessage } from "./pgoutput-decoder.js";
import { formatLsn } from "./lsn.js";

/** One item received on the replication stream. */
export type ReplicationItem =
  | {
      readonly kind: "data";
      /** Start of the WAL data in this message (0 for most non-transactional messages). */
      readonly walStart: bigint;
      /** The server's current end of WAL when it sent this. */
      readonly walEnd: bigint;
      readonly message: PgoutputMessage;
    }
  | { readonly kind: "keepalive"; readonly walEnd: bigint };

/** Options of {@link ReplicationStream.start}. */
export interface ReplicationStreamOptions {
  /** A connected client opened with `replication: "database"`; the stream owns it from now on. */
  readonly client: pg.Client;
  readonly slot: string;
  readonly publication: string;
  /** The LSN to start after. */
  readonly startLsn: bigint;
  /** The highest position acknowledged so far (reported as flushed until {@link ReplicationStream.acknowledge} moves it). */
  readonly acknowledged: bigint;
  /** Ask pgoutput for logical decoding messages (`messages 'true'`, PostgreSQL 14+); default false. */
  readonly messages?: boolean;
  /** Items held before the socket is paused; default 20 000. */
  readonly highWaterMark?: number;
  /** How often a standby status update is sent unasked; default 10 s (less when the keepalive timeout is short). */
  readonly statusIntervalMs?: number;
  /**
   * Nothing received for this long, not even the keepalive the stream asks
   * for, means the server or the network is gone: the stream fails with a
   * retryable `connection-failed` error. Not counted while the socket is
   * paused for back-pressure. Default 60 s.
   */
  readonly keepaliveTimeoutMs?: number;
  /** Names the server in errors, e.g. `postgres source db:5432/app`. */
  readonly server?: string;
  readonly signal?: AbortSignal;
}

const PG_EPOCH_US = 946_684_800_000_000n;

/**
 * A logical replication stream on one `pg` connection (the CopyBoth
 * sub-protocol of the streaming replication protocol).
 *
 * Each XLogData payload is decoded into a pgoutput message as it arrives
 * (pg reuses its read buffer, so nothing may keep a reference to it) and
 * queued; {@link take} hands the queue to the consumer. When more than
 * `highWaterMark` items wait, the socket is paused until the consumer takes
 * them. Standby status updates report write = flush = apply = the last
 * acknowledged LSN, never anything the consumer has merely received: every
 * `statusIntervalMs`, on every {@link acknowledge} and when a keepalive asks.
 */
export class ReplicationStream {
  private queue: ReplicationItem[] = [];
  private waiter: (() => void) | undefined;
  private failure: unknown;
  private ended = false;
  private paused = false;
  private acked: bigint;
  private timer: NodeJS.Timeout | undefined;
  private lastReceived = Date.now();
  private readonly keepaliveTimeoutMs: number;
  private readonly server: string;
  private readonly query: Promise<unknown>;
  private readonly highWaterMark: number;
  private readonly client: pg.Client;
  private readonly connection: PgConnection;
  private readonly onAbort: () => void;
  private readonly signal: AbortSignal | undefined;

  private constructor(options: ReplicationStreamOptions) {
    this.client = options.client;
    this.connection = (options.client as unknown as { connection: PgConnection }).connection;
    this.acked = options.acknowledged;
    this.highWaterMark = options.highWaterMark ?? 20_000;
    this.signal = options.signal;
    this.connection.on("copyData", this.onCopyData);
    this.connection.once("end", this.onEnd);
    const publications = quoteLiteral(quoteIdent(options.publication));
    const command = `START_REPLICATION SLOT ${quoteIdent(options.slot)} LOGICAL ${formatLsn(options.startLsn)} (proto_version '1', publication_names ${publications}${options.messages === true ? ", messages 'true'" : ""})`;
    this.query = this.client.query(command).then(
      () => this.finish(undefined),
      (error: unknown) => this.finish(error),
    );
    this.keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? 60_000;
    this.server = options.server ?? "postgres source";
    const interval = options.statusIntervalMs ?? Math.max(100, Math.min(10_000, Math.floor(this.keepaliveTimeoutMs / 4)));
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
    this.onAbort = () => void this.close();
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Sends START_REPLICATION on `options.client` and returns the stream. Server errors surface from {@link take}. */
  static start(options: ReplicationStreamOptions): ReplicationStream {
    return new ReplicationStream(options);
  }

  /**
   * Everything received since the last call, in order; waits when nothing
   * is queued. `null` once the stream ended (abort or close). Throws the
   * server's or the connection's error.
   */
  async take(): Promise<ReplicationItem[] | null> {
    for (;;) {
      if (this.queue.length > 0) {
        const items = this.queue;
        this.queue = [];
        if (this.paused) {
          this.paused = false;
          this.connection.stream.resume();
        }
        return items;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /** Reports everything up to `lsn` as durable (never moves backwards) and tells the server now. */
  acknowledge(lsn: bigint): void {
    if (lsn > this.acked) this.acked = lsn;
    this.sendStatus(false);
  }

  /** The last acknowledged LSN. */
  get acknowledged(): bigint {
    return this.acked;
  }

  /** Ends the copy (CopyDone), waits briefly for the server to finish and closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.signal?.removeEventListener("abort", this.onAbort);
      // a dead peer would never answer the goodbye: drop the socket instead of waiting for it
      if (this.failure !== undefined) this.connection.stream.destroy();
      this.ended = true;
      this.wake();
      if (this.paused) this.connection.stream.resume();
      try {
        this.connection.endCopyFrom();
      } catch {
        // the socket may already be gone; ending the client below is all that is left
      }
      await Promise.race([this.query, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      this.connection.removeListener("copyData", this.onCopyData);
      await this.client.end().catch(() => {});
    }
  }

  /** Every status interval: fail a stream that went silent, else report progress (asking for a reply when quiet). */
  private tick(): void {
    const now = Date.now();
    if (this.paused) this.lastReceived = now;
    const silentMs = now - this.lastReceived;
    if (silentMs >= this.keepaliveTimeoutMs) {
      this.finish(
        new ZeroEtlError(`${this.server}: nothing received on the replication connection for ${Math.round(silentMs / 1000)} s (timeouts.keepaliveMs = ${this.keepaliveTimeoutMs})`, {
          code: "connection-failed",
          retryable: true,
        }),
      );
      return;
    }
    this.sendStatus(silentMs >= this.keepaliveTimeoutMs / 3);
  }

  private readonly onCopyData = (message: { chunk: Buffer }): void => {
    this.lastReceived = Date.now();
    const chunk = message.chunk;
    const type = chunk[0];
    try {
      if (type === 0x77 /* w: XLogData */) {
        const walStart = chunk.readBigUInt64BE(1);
        const walEnd = chunk.readBigUInt64BE(9);
        this.queue.push({ kind: "data", walStart, walEnd, message: decodePgoutput(chunk, 25) });
      } else if (type === 0x6b /* k: primary keepalive */) {
        const walEnd = chunk.readBigUInt64BE(1);
        if (chunk[17] === 1) this.sendStatus(false);
        this.queue.push({ kind: "keepalive", walEnd });
      } else {
        return;
      }
    } catch (error) {
      this.finish(error);
      return;
    }
    if (this.queue.length >= this.highWaterMark && !this.paused) {
      this.paused = true;
      this.connection.stream.pause();
    }
    this.wake();
  };

  private readonly onEnd = (): void => {
    if (!this.ended) this.finish(new ZeroEtlError("replication connection closed by the server", { code: "connection-failed", retryable: true }));
  };

  private finish(error: unknown): void {
    if (error !== undefined && this.failure === undefined && !this.ended) this.failure = error;
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private sendStatus(replyRequested: boolean): void {
    if (this.ended) return;
    const buf = Buffer.allocUnsafe(34);
    buf[0] = 0x72; // r: standby status update
    buf.writeBigUInt64BE(this.acked, 1);
    buf.writeBigUInt64BE(this.acked, 9);
    buf.writeBigUInt64BE(this.acked, 17);
    buf.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    buf[33] = replyRequested ? 1 : 0;
    this.connection.sendCopyFromChunk(buf);
  }
}

/** The slice of pg's internal Connection this stream uses. */
interface PgConnection {
  on(event: "copyData", listener: (message: { chunk: Buffer }) => void): void;
  once(event: "end", listener: () => void): void;
  removeListener(event: "copyData", listener: (message: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  readonly stream: { pause(): void; resume(): void; destroy(): void };
}
