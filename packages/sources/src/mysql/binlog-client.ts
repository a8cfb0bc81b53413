import type { Socket } from "node:net";
import { ZeroEtlError } from "@zero-etl/core";
import mysql from "mysql2/promise";
import type { CollationInfo } from "./binlog-event-decoder.js";
import { collationInfo } from "./binlog-event-decoder.js";
import { describeMysqlServer, mysqlConnectionError } from "./mysql-connection-error.js";

/** Options of {@link openBinlogClient}. */
export interface BinlogClientOptions {
  /** `mysql://user:pass@host:port/db`; the database part is ignored here. */
  readonly url: string;
  readonly ssl?: unknown;
  /** The replica server id; must be unique among the server's replicas. */
  readonly serverId: number;
  readonly file: string;
  readonly position: number;
  /** Seconds between server heartbeats while idle (default 1). */
  readonly heartbeatSeconds?: number;
  /**
   * MariaDB only: start from this GTID position (`domain-server-seq,...`)
   * instead of `file:position` (which are then ignored by the server), e.g.
   * when the file was purged or the server is a promoted replica.
   */
  readonly mariadbGtid?: string;
  /** Ask the server to end the stream (EOF) at the end of the log instead of waiting (benchmarks, tests). */
  readonly nonBlocking?: boolean;
  /** Pause the socket while this many bytes of undelivered events are queued (default 8 MiB). */
  readonly highWaterBytes?: number;
  /** Connecting and authenticating may take this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /**
   * Nothing received for this long (heartbeats come every `heartbeatSeconds`)
   * means the server or the network is gone: `take` fails with a retryable
   * `connection-failed` error. Not counted while paused. Default 60 s.
   */
  readonly keepaliveTimeoutMs?: number;
}

/** What the client learned about the server before the dump started. */
export interface BinlogServerInfo {
  readonly version: string;
  readonly flavor: "mariadb" | "mysql";
  readonly checksum: boolean;
  readonly collations: ReadonlyMap<number, CollationInfo>;
}

/**
 * A binlog dump connection. mysql2 does the handshake and authentication;
 * then the client takes the socket over, registers as a replica, sends
 * COM_BINLOG_DUMP and frames the event packets itself, so events are
 * delivered as Buffer slices with no per-packet parsing objects.
 */
export interface BinlogClient {
  readonly info: BinlogServerInfo;
  /** Bytes of received events not yet taken; reading pauses at `highWaterBytes` (plus at most the socket chunk in flight). */
  readonly queuedBytes: number;
  /**
   * The next events, as many as have arrived (each a slice holding one event,
   * header to checksum); waits when none are queued. Returns `null` at the
   * end of a non-blocking dump or after `close`. Throws `position-lost` when
   * the server no longer has the requested file/position.
   */
  take(): Promise<Buffer[] | null>;
  close(): void;
}

const MAX_PACKET = 0xffffff;

/** Connects, announces checksum/GTID capabilities, registers as replica `serverId` and starts the dump at `file:position`. */
export async function openBinlogClient(options: BinlogClientOptions): Promise<BinlogClient> {
  const conn = await mysql
    .createConnection({
      uri: options.url,
      ...(options.ssl === undefined ? {} : { ssl: options.ssl as string }),
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
    })
    .catch((error: unknown) => {
      throw mysqlConnectionError(options.url, error);
    });
  let info: BinlogServerInfo;
  try {
    info = await prepareSession(conn, options.heartbeatSeconds ?? 1);
    if (options.mariadbGtid !== undefined) {
      await conn.query("SET @slave_connect_state = ?, @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0", [options.mariadbGtid]);
    }
  } catch (error) {
    await conn.end().catch(() => undefined);
    throw error instanceof ZeroEtlError ? error : mysqlConnectionError(options.url, error, "use");
  }
  const raw = (conn as unknown as { connection: { stream: Socket; _closing: boolean; on(event: string, fn: (e: unknown) => void): void } }).connection;
  const socket = raw.stream;
  // From here on the socket is ours: mysql2 must neither parse nor report its traffic.
  raw._closing = true;
  raw.on("error", () => undefined);
  socket.removeAllListeners("data");
  return new SocketBinlogClient(socket, info, options).start();
}

async function prepareSession(conn: mysql.Connection, heartbeatSeconds: number): Promise<BinlogServerInfo> {
  const [rows] = await conn.query("SELECT @@version AS version, @@global.binlog_checksum AS checksum");
  const first = (rows as { version: string; checksum: string }[])[0];
  const version = first?.version ?? "";
  const flavor = /mariadb/i.test(version) ? "mariadb" : "mysql";
  const checksum = (first?.checksum ?? "NONE").toUpperCase() === "CRC32";
  await conn.query("SET @master_binlog_checksum = @@global.binlog_checksum, @source_binlog_checksum = @@global.binlog_checksum");
  await conn.query("SET @mariadb_slave_capability = 4");
  const nanos = BigInt(Math.round(heartbeatSeconds * 1e9)).toString();
  await conn.query(`SET @master_heartbeat_period = ${nanos}, @source_heartbeat_period = ${nanos}`);
  const collations = new Map<number, CollationInfo>();
  const [collationRows] = await conn.query(
    "SELECT c.ID AS id, c.CHARACTER_SET_NAME AS cs, s.MAXLEN AS maxlen FROM information_schema.COLLATIONS c JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME",
  );
  for (const r of collationRows as { id: number | string; cs: string; maxlen: number | string }[]) collations.set(Number(r.id), collationInfo(r.cs, Number(r.maxlen)));
  if (flavor === "mariadb") {
    // MariaDB 10.10+ numbers collations per charset (uca1400) here, and the binlog uses these ids.
    try {
      const [applicable] = await conn.query(
        "SELECT a.ID AS id, a.CHARACTER_SET_NAME AS cs, s.MAXLEN AS maxlen FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY a JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = a.CHARACTER_SET_NAME WHERE a.ID IS NOT NULL",
      );
      for (const r of applicable as { id: number | string; cs: string; maxlen: number | string }[]) collations.set(Number(r.id), collationInfo(r.cs, Number(r.maxlen)));
    } catch {
      // Older MariaDB: the COLLATIONS ids are complete.
    }
  }
  return { version, flavor, checksum, collations };
}

class SocketBinlogClient implements BinlogClient {
  readonly info: BinlogServerInfo;
  private readonly socket: Socket;
  private readonly options: BinlogClientOptions;
  private queue: Buffer[] = [];
  queuedBytes = 0;
  private paused = false;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private carry: Buffer | undefined;
  private partial: Buffer[] = [];
  private registered = false;
  private readonly highWater: number;
  private lastReceived = Date.now();
  private watchdog: NodeJS.Timeout | undefined;

  constructor(socket: Socket, info: BinlogServerInfo, options: BinlogClientOptions) {
    this.socket = socket;
    this.info = info;
    this.options = options;
    this.highWater = options.highWaterBytes ?? 8 * 1024 * 1024;
  }

  start(): this {
    const server = `mysql source ${describeMysqlServer(this.options.url)}`;
    this.socket.on("data", (chunk: Buffer) => {
      this.lastReceived = Date.now();
      this.onData(chunk);
    });
    this.socket.on("close", () => {
      if (!this.ended && this.failure === undefined) this.fail(new ZeroEtlError(`${server}: binlog connection closed by the server`, { code: "connection-failed", retryable: true }));
    });
    this.socket.on("error", (error) =>
      this.fail(new ZeroEtlError(`${server}: binlog connection failed: ${error.message}`, { code: "connection-failed", retryable: true, cause: error })),
    );
    const timeoutMs = this.options.keepaliveTimeoutMs ?? 60_000;
    this.watchdog = setInterval(
      () => {
        const now = Date.now();
        if (this.paused) this.lastReceived = now;
        if (now - this.lastReceived < timeoutMs) return;
        this.fail(
          new ZeroEtlError(`${server}: nothing received on the binlog connection for ${Math.round((now - this.lastReceived) / 1000)} s (timeouts.keepaliveMs = ${timeoutMs})`, {
            code: "connection-failed",
            retryable: true,
          }),
        );
      },
      Math.max(100, Math.min(5_000, Math.floor(timeoutMs / 4))),
    );
    this.watchdog.unref();
    this.send(registerReplica(this.options.serverId));
    return this;
  }

  async take(): Promise<Buffer[] | null> {
    for (;;) {
      if (this.queue.length > 0) {
        const events = this.queue;
        this.queue = [];
        this.queuedBytes = 0;
        if (this.paused) {
          this.paused = false;
          this.socket.resume();
        }
        return events;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  close(): void {
    this.ended = true;
    this.stopWatchdog();
    this.socket.destroy();
    this.notify();
  }

  private fail(error: Error): void {
    if (this.failure === undefined) this.failure = error;
    this.stopWatchdog();
    this.socket.destroy();
    this.notify();
  }

  private stopWatchdog(): void {
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private send(payload: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUIntLE(payload.length, 0, 3);
    header.writeUInt8(0, 3);
    this.socket.write(Buffer.concat([header, payload]));
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry !== undefined) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    let pos = 0;
    const before = this.queue.length;
    while (buf.length - pos >= 4) {
      const length = buf.readUIntLE(pos, 3);
      if (buf.length - pos - 4 < length) break;
      const payload = buf.subarray(pos + 4, pos + 4 + length);
      pos += 4 + length;
      if (length === MAX_PACKET) {
        this.partial.push(payload);
        continue;
      }
      if (this.partial.length > 0) {
        this.partial.push(payload);
        this.onPacket(Buffer.concat(this.partial));
        this.partial = [];
      } else {
        this.onPacket(payload);
      }
      if (this.ended || this.failure !== undefined) return;
    }
    if (pos < buf.length) this.carry = Buffer.from(buf.subarray(pos));
    if (this.queue.length > before) {
      if (this.queuedBytes >= this.highWater && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      this.notify();
    }
  }

  private onPacket(payload: Buffer): void {
    const marker = payload[0];
    if (marker === 0xff) {
      this.fail(serverError(payload, this.options));
      return;
    }
    if (!this.registered) {
      this.registered = true;
      this.send(binlogDump(this.options));
      return;
    }
    if (marker === 0xfe && payload.length < 9) {
      if (this.options.nonBlocking !== true) {
        // a blocking dump never ends on its own: the server is shutting down (or killed this replica)
        this.fail(
          new ZeroEtlError(`mysql source ${describeMysqlServer(this.options.url)}: the server ended the binlog stream (shutdown or restart)`, {
            code: "connection-failed",
            retryable: true,
          }),
        );
        return;
      }
      this.ended = true;
      this.stopWatchdog();
      this.socket.destroy();
      this.notify();
      return;
    }
    const event = payload.subarray(1);
    this.queue.push(event);
    this.queuedBytes += event.length;
  }
}

function registerReplica(serverId: number): Buffer {
  const payload = Buffer.alloc(1 + 4 + 3 + 2 + 4 + 4);
  let p = payload.writeUInt8(0x15, 0);
  p = payload.writeUInt32LE(serverId >>> 0, p);
  p += 3; // empty hostname, user and password (length bytes 0)
  p = payload.writeUInt16LE(0, p);
  p = payload.writeUInt32LE(0, p);
  payload.writeUInt32LE(0, p);
  return payload;
}

function binlogDump(options: BinlogClientOptions): Buffer {
  const name = Buffer.from(options.mariadbGtid === undefined ? options.file : "", "utf8");
  const payload = Buffer.alloc(11 + name.length);
  payload.writeUInt8(0x12, 0);
  payload.writeUInt32LE(options.mariadbGtid === undefined ? options.position >>> 0 : 4, 1);
  payload.writeUInt16LE(options.nonBlocking === true ? 1 : 0, 5);
  payload.writeUInt32LE(options.serverId >>> 0, 7);
  name.copy(payload, 11);
  return payload;
}

function serverError(payload: Buffer, options: BinlogClientOptions): ZeroEtlError {
  const code = payload.readUInt16LE(1);
  const message = payload.toString("utf8", payload[3] === 0x23 ? 9 : 3);
  if (code === 1236) {
    const where = options.mariadbGtid === undefined ? `${options.file}:${options.position}` : `gtid ${options.mariadbGtid}`;
    return new ZeroEtlError(`mysql binlog position ${where} is no longer available: ${message} (error 1236)`, { code: "position-lost" });
  }
  return new ZeroEtlError(`mysql binlog dump failed: ${message} (error ${code})`, { code: "source-failed", retryable: code === 1040 || code === 1205 });
}
