import type { Client, ClientConfig } from "pg";
import { ZeroEtlError, redactText } from "@zero-etl/core";
import type { RedshiftResultRow, RedshiftStatementRunner } from "./redshift-statement-runner.js";
import { namedParameters } from "./redshift-statement-runner.js";

/** Options of {@link createRedshiftWireRunner}. */
export interface RedshiftWireRunnerOptions {
  /** `redshift://user:password@host:5439/database` (or `postgres://`), the cluster's or workgroup's endpoint. */
  readonly url: string;
  /** Connect timeout in milliseconds; default 30,000. */
  readonly connectTimeoutMs?: number;
}

/**
 * A {@link RedshiftStatementRunner} over the PostgreSQL wire protocol (`pg`),
 * one connection opened on first use and again after it breaks. A
 * transaction is `BEGIN`, the statements, `COMMIT`; any failure rolls it back
 * (by dropping the connection when the rollback itself fails).
 */
export function createRedshiftWireRunner(options: RedshiftWireRunnerOptions): RedshiftStatementRunner {
  return new RedshiftWireRunner(options);
}

class RedshiftWireRunner implements RedshiftStatementRunner {
  readonly #options: RedshiftWireRunnerOptions;
  #client: Client | undefined;
  #broken = false;

  constructor(options: RedshiftWireRunnerOptions) {
    this.#options = options;
  }

  async transaction(statements: readonly string[]): Promise<void> {
    const client = await this.#connected();
    try {
      await client.query("BEGIN");
      for (const statement of statements) await client.query(statement);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => this.#drop());
      throw this.#wrap(error, "transaction");
    }
  }

  async execute(statement: string): Promise<void> {
    const client = await this.#connected();
    try {
      await client.query(statement);
    } catch (error) {
      throw this.#wrap(error, "statement");
    }
  }

  async query(statement: string, parameters: Readonly<Record<string, string>> = {}): Promise<RedshiftResultRow[]> {
    const client = await this.#connected();
    const names = namedParameters(statement);
    let text = statement;
    const values: string[] = [];
    for (const [i, name] of names.entries()) {
      const value = parameters[name];
      if (value === undefined) throw new ZeroEtlError(`query parameter :${name} has no value`, { code: "internal" });
      values.push(value);
      text = text.replace(new RegExp(`(?<!:):${name}\\b`, "g"), `$${i + 1}`);
    }
    try {
      const result = await client.query<Record<string, unknown>>({ text, values });
      return result.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)])));
    } catch (error) {
      throw this.#wrap(error, "query");
    }
  }

  async close(): Promise<void> {
    await this.#drop();
  }

  async #connected(): Promise<Client> {
    if (this.#client !== undefined && !this.#broken) return this.#client;
    await this.#drop();
    const pg = await import("pg");
    const url = new URL(this.#options.url.replace(/^redshift:/, "postgres:"));
    const config: ClientConfig = {
      host: url.hostname,
      port: url.port === "" ? 5439 : Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: decodeURIComponent(url.pathname.replace(/^\//, "")) || "dev",
      connectionTimeoutMillis: this.#options.connectTimeoutMs ?? 30_000,
      ...(url.searchParams.get("sslmode") === "require" ? { ssl: { rejectUnauthorized: true } } : {}),
    };
    const client = new pg.default.Client(config);
    client.on("error", () => {
      this.#broken = true;
    });
    try {
      await client.connect();
    } catch (error) {
      throw this.#wrap(error, "connect");
    }
    this.#client = client;
    this.#broken = false;
    return client;
  }

  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await client.end().catch(() => undefined);
  }

  #wrap(error: unknown, what: string): ZeroEtlError {
    if (error instanceof ZeroEtlError) return error;
    const code = (error as { code?: unknown }).code;
    // SQLSTATE classes 08 (connection) and 40 (rollback) and 53/57 (resources, shutdown) may pass on a retry; socket errors too
    const transient = typeof code !== "string" || /^(08|40|53|57)/.test(code) || /^E[A-Z]+$/.test(code);
    const message = error instanceof Error ? error.message : String(error);
    if (transient) this.#broken = true;
    return new ZeroEtlError(`redshift ${what} failed: ${redactText(message)}`, {
      code: transient ? "connection-failed" : "sink-failed",
      retryable: transient,
      cause: error,
    });
  }
}
