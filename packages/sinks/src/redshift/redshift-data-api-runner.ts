import { randomUUID } from "node:crypto";
import type { Field, RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { ZeroEtlError, redactText } from "@zero-etl/core";
import type { RedshiftResultRow, RedshiftStatementRunner } from "./redshift-statement-runner.js";
import { namedParameters } from "./redshift-statement-runner.js";

/** Where and as whom the Data API runs statements. No password: IAM or a Secrets Manager secret. */
export interface RedshiftDataApiOptions {
  /** A provisioned cluster (with `dbUser` for temporary IAM credentials, or `secretArn`). */
  readonly clusterIdentifier?: string;
  /** A Serverless workgroup (IAM identity of the caller, or `secretArn`). */
  readonly workgroupName?: string;
  readonly database: string;
  readonly secretArn?: string;
  readonly dbUser?: string;
  readonly region?: string;
  /** Another endpoint (tests, VPC endpoints). */
  readonly endpoint?: string;
  /** Explicit credentials; by default the SDK's chain (role, profile, environment). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Tries of a throttled request before giving up; default 8. */
  readonly maxAttempts?: number;
  /** First back-off after throttling in milliseconds, doubled each time up to 10 s; default 200. */
  readonly backoffMs?: number;
  /** Longest a statement may run before the sink gives up on it; default 15 minutes. */
  readonly statementTimeoutMs?: number;
}

/** The Data API's limit on one SQL statement's text (bytes). */
export const DATA_API_MAX_STATEMENT_BYTES = 100 * 1024;
/** The Data API's limit on the statements of one `BatchExecuteStatement`. */
export const DATA_API_MAX_BATCH_STATEMENTS = 40;

const DONE = new Set(["FINISHED", "FAILED", "ABORTED"]);

/**
 * A {@link RedshiftStatementRunner} on the Redshift Data API. A transaction is
 * one `BatchExecuteStatement` (the API runs its list as one transaction, at
 * most 40 statements of at most 100 KB each), polled with
 * `DescribeStatement` until it finished; a single statement or query is an
 * `ExecuteStatement` (autocommit), its rows read with `GetStatementResult`.
 * Throttled requests (`ThrottlingException`, HTTP 429) are retried with
 * exponential back-off, with the same `ClientToken`, so a retried submission
 * runs once.
 */
export function createRedshiftDataApiRunner(options: RedshiftDataApiOptions): RedshiftStatementRunner {
  if ((options.clusterIdentifier === undefined) === (options.workgroupName === undefined)) {
    throw new ZeroEtlError("redshift data api: give exactly one of clusterIdentifier and workgroupName", { code: "config-invalid" });
  }
  return new RedshiftDataApiRunner(options);
}

type Sdk = typeof import("@aws-sdk/client-redshift-data");

class RedshiftDataApiRunner implements RedshiftStatementRunner {
  readonly maxTransactionStatements = DATA_API_MAX_BATCH_STATEMENTS;
  readonly #options: RedshiftDataApiOptions;
  #sdk: { sdk: Sdk; client: RedshiftDataClient } | undefined;

  constructor(options: RedshiftDataApiOptions) {
    this.#options = options;
  }

  async transaction(statements: readonly string[], signal?: AbortSignal): Promise<void> {
    if (statements.length === 0) return;
    if (statements.length > DATA_API_MAX_BATCH_STATEMENTS) {
      throw new ZeroEtlError(`redshift data api: ${statements.length} statements in one transaction, the API takes at most ${DATA_API_MAX_BATCH_STATEMENTS}`, { code: "internal" });
    }
    for (const statement of statements) checkSize(statement);
    const { sdk, client } = await this.#client();
    // one token for every try: a retried submission is not run twice
    const token = randomUUID();
    const submitted = await this.#send("BatchExecuteStatement", () => client.send(new sdk.BatchExecuteStatementCommand({ ...this.#target(), Sqls: [...statements], ClientToken: token }), signal === undefined ? {} : { abortSignal: signal }), signal);
    await this.#wait(submitted.Id, signal);
  }

  async execute(statement: string, signal?: AbortSignal): Promise<void> {
    checkSize(statement);
    const { sdk, client } = await this.#client();
    const token = randomUUID();
    const submitted = await this.#send("ExecuteStatement", () => client.send(new sdk.ExecuteStatementCommand({ ...this.#target(), Sql: statement, ClientToken: token }), signal === undefined ? {} : { abortSignal: signal }), signal);
    await this.#wait(submitted.Id, signal);
  }

  async query(statement: string, parameters: Readonly<Record<string, string>> = {}, signal?: AbortSignal): Promise<RedshiftResultRow[]> {
    checkSize(statement);
    const { sdk, client } = await this.#client();
    const names = namedParameters(statement);
    const list = names.map((name) => {
      const value = parameters[name];
      if (value === undefined) throw new ZeroEtlError(`query parameter :${name} has no value`, { code: "internal" });
      return { name, value };
    });
    const token = randomUUID();
    const submitted = await this.#send(
      "ExecuteStatement",
      () => client.send(new sdk.ExecuteStatementCommand({ ...this.#target(), Sql: statement, ClientToken: token, ...(list.length === 0 ? {} : { Parameters: list }) }), signal === undefined ? {} : { abortSignal: signal }),
      signal,
    );
    const id = await this.#wait(submitted.Id, signal);
    const rows: RedshiftResultRow[] = [];
    let next: string | undefined;
    do {
      const page = await this.#send("GetStatementResult", () => client.send(new sdk.GetStatementResultCommand({ Id: id, ...(next === undefined ? {} : { NextToken: next }) })), signal);
      const columns = (page.ColumnMetadata ?? []).map((c, i) => c.name ?? `column${i}`);
      for (const record of page.Records ?? []) {
        const row: Record<string, string | null> = {};
        record.forEach((field, i) => {
          row[columns[i] ?? `column${i}`] = fieldText(field);
        });
        rows.push(row);
      }
      next = page.NextToken;
    } while (next !== undefined && next !== "");
    return rows;
  }

  async close(): Promise<void> {
    this.#sdk?.client.destroy();
    this.#sdk = undefined;
  }

  #target(): { ClusterIdentifier?: string; WorkgroupName?: string; Database: string; SecretArn?: string; DbUser?: string } {
    const o = this.#options;
    return {
      ...(o.clusterIdentifier === undefined ? {} : { ClusterIdentifier: o.clusterIdentifier }),
      ...(o.workgroupName === undefined ? {} : { WorkgroupName: o.workgroupName }),
      Database: o.database,
      ...(o.secretArn === undefined ? {} : { SecretArn: o.secretArn }),
      ...(o.dbUser === undefined ? {} : { DbUser: o.dbUser }),
    };
  }

  async #client(): Promise<{ sdk: Sdk; client: RedshiftDataClient }> {
    if (this.#sdk !== undefined) return this.#sdk;
    const sdk = await import("@aws-sdk/client-redshift-data");
    const o = this.#options;
    const client = new sdk.RedshiftDataClient({
      region: o.region ?? "us-east-1",
      // throttling is retried below, with our back-off, so that it is one policy whatever the SDK's defaults
      maxAttempts: 1,
      ...(o.endpoint === undefined ? {} : { endpoint: o.endpoint }),
      ...(o.credentials === undefined ? {} : { credentials: { ...o.credentials } }),
    });
    this.#sdk = { sdk, client };
    return this.#sdk;
  }

  /** Waits until a statement finished; throws its error when it failed. Returns its id. */
  async #wait(id: string | undefined, signal?: AbortSignal): Promise<string> {
    if (id === undefined) throw new ZeroEtlError("redshift data api returned no statement id", { code: "sink-failed", retryable: true });
    const { sdk, client } = await this.#client();
    const deadline = Date.now() + (this.#options.statementTimeoutMs ?? 15 * 60_000);
    let delay = 25;
    for (;;) {
      const described = await this.#send("DescribeStatement", () => client.send(new sdk.DescribeStatementCommand({ Id: id })), signal);
      const status = described.Status ?? "SUBMITTED";
      if (DONE.has(status)) {
        if (status === "FINISHED") return id;
        // the error text is Redshift's message: it names relations and columns, never the staged values
        throw new ZeroEtlError(`redshift statement ${status.toLowerCase()}: ${redactText(described.Error ?? "no error text")}`, {
          code: "sink-failed",
          retryable: status === "ABORTED",
        });
      }
      if (Date.now() > deadline) {
        await client.send(new sdk.CancelStatementCommand({ Id: id })).catch(() => undefined);
        throw new ZeroEtlError(`redshift statement ${id} still ${status.toLowerCase()} after the statement timeout; cancelled`, { code: "sink-failed", retryable: true });
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 1000);
    }
  }

  /** Sends a request, retrying throttling with exponential back-off. */
  async #send<T>(what: string, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const attempts = this.#options.maxAttempts ?? 8;
    let delay = this.#options.backoffMs ?? 200;
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        const throttled = isThrottling(error);
        if (throttled && attempt < attempts) {
          await sleep(delay, signal);
          delay = Math.min(delay * 2, 10_000);
          continue;
        }
        const name = (error as { name?: unknown }).name;
        const message = error instanceof Error ? error.message : String(error);
        throw new ZeroEtlError(`redshift data api ${what} failed: ${String(name)}: ${redactText(message)}`, {
          code: "sink-failed",
          retryable: throttled || (error as { $retryable?: unknown }).$retryable !== undefined || (error as { $fault?: unknown }).$fault === "server",
          cause: error,
        });
      }
    }
  }
}

function checkSize(statement: string): void {
  const bytes = Buffer.byteLength(statement, "utf8");
  if (bytes > DATA_API_MAX_STATEMENT_BYTES) {
    throw new ZeroEtlError(`redshift data api: a statement of ${bytes} bytes exceeds the API's 100 KB (starts ${JSON.stringify(statement.slice(0, 60))})`, { code: "internal" });
  }
}

function isThrottling(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return e.name === "ThrottlingException" || e.name === "TooManyRequestsException" || e.$metadata?.httpStatusCode === 429;
}

function fieldText(field: Field): string | null {
  if (field.isNull === true) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return String(field.longValue);
  if (field.doubleValue !== undefined) return String(field.doubleValue);
  if (field.booleanValue !== undefined) return String(field.booleanValue);
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString("hex");
  return null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(new ZeroEtlError("aborted", { code: "aborted" }));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new ZeroEtlError("aborted", { code: "aborted" }));
    }, { once: true });
  });
}
