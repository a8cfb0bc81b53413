import type { PostgresPool, PostgresPoolClient } from "kysely";
import { CompiledQuery, Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { ZeroEtlError, redactText } from "@zero-etl/core";
import type { PostgresSinkConfig } from "./postgres-sink-config.js";
import { CopyInStream } from "./postgres-copy-in-stream.js";
import { classifyPgError, describePgError } from "./postgres-error-classifier.js";

/**
 * One dedicated connection, seen through kysely. The sink's transaction
 * spans several calls (`write`s until `flush`), so it owns its connection
 * instead of borrowing from a pool; when the connection breaks the session is
 * marked broken and the sink opens a new one.
 */
export class PostgresSession {
  readonly db: Kysely<any>;
  readonly #client: pg.Client;
  #broken = false;

  private constructor(client: pg.Client) {
    this.#client = client;
    client.on("error", () => {
      // an idle connection dropped by the server; the next statement fails and the sink reconnects
      this.#broken = true;
    });
    const single: PostgresPool = {
      connect: async () => Object.assign(client, { release() {} }) as unknown as PostgresPoolClient,
      end: async () => {},
    };
    this.db = new Kysely<any>({ dialect: new PostgresDialect({ pool: single }) });
  }

  /** Connects; failures become `connection-failed` errors naming host, port and database, never the password. */
  static async connect(config: PostgresSinkConfig): Promise<PostgresSession> {
    return new PostgresSession(await connectSinkClient(config, "zero-etl-sink"));
  }

  /** True once the connection failed; the session must then be destroyed. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Runs a statement text with parameters; returns the affected row count. */
  async run(text: string, parameters: readonly unknown[] = []): Promise<number> {
    try {
      const result = await this.db.executeQuery(CompiledQuery.raw(text, parameters as unknown[]));
      return Number(result.numAffectedRows ?? 0n);
    } catch (error) {
      if (classifyPgError(error) === "transient") this.#broken = true;
      throw error;
    }
  }

  /** Runs a query text with parameters; returns its rows. */
  async query<R>(text: string, parameters: readonly unknown[] = []): Promise<R[]> {
    try {
      const result = await this.db.executeQuery<R>(CompiledQuery.raw(text, parameters as unknown[]));
      return result.rows as R[];
    } catch (error) {
      if (classifyPgError(error) === "transient") this.#broken = true;
      throw error;
    }
  }

  /**
   * Runs `COPY … FROM STDIN` (after any statements before it in `text`)
   * with data messages made as they are sent: each chunk `chunks` yields goes
   * out at once, so the server reads one while the next is made. When
   * making a chunk throws, the COPY is aborted (the server rolls it back)
   * and that error is thrown. Returns the rows copied.
   */
  async copyInFrom(text: string, chunks: Iterable<Buffer>): Promise<number> {
    const stream = new CopyInStream(this.#client, text);
    try {
      await stream.start();
    } catch (error) {
      if (classifyPgError(error) === "transient") this.#broken = true;
      throw error;
    }
    let sent = false;
    try {
      for (const chunk of chunks) await stream.write(chunk);
      sent = true;
      return await stream.end();
    } catch (error) {
      if (classifyPgError(error) === "transient") this.#broken = true;
      // our own failure (making a chunk) leaves the server waiting for data: abort the COPY
      if (!sent) await stream.fail("aborted by the client");
      throw error;
    }
  }

  /** Closes the connection; never throws. */
  async destroy(): Promise<void> {
    this.#broken = true;
    await this.#client.end().catch(() => {});
  }
}

/** A `connection-failed` error for a failed connect, retryable when the failure is transient. */
/**
 * A connected `pg.Client` for the target with the sink's TLS and timeouts;
 * failures become `connection-failed` errors naming host, port and database,
 * never the password.
 */
export async function connectSinkClient(config: PostgresSinkConfig, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: config.url,
    ...(config.ssl === undefined ? {} : { ssl: config.ssl }),
    application_name: applicationName,
    // a server that accepts TCP but never answers must not hang the run: both limits fail retryably
    connectionTimeoutMillis: config.timeouts.connectMs,
    ...(config.timeouts.queryMs === 0 ? {} : { query_timeout: config.timeouts.queryMs }),
    keepAlive: true,
  });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => {});
    throw connectionError(config, cause);
  }
  return client;
}

export function connectionError(config: PostgresSinkConfig, cause: unknown): ZeroEtlError {
  const reason = /connection timeout|timeout expired/i.test(describePgError(cause)) ? `no answer within ${config.timeouts.connectMs} ms (timeouts.connectMs)` : redactText(describePgError(cause));
  return new ZeroEtlError(`cannot connect to postgresql target ${config.displayTarget}: ${reason}`, {
    code: "connection-failed",
    retryable: classifyPgError(cause) === "transient",
    cause,
  });
}
