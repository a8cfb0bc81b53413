/**
 * Test support only: a RedshiftStatementRunner that runs the Redshift sink's
 * statements on the local PostgreSQL 15, so its semantics (transactions,
 * DELETE USING + INSERT, checkpoints) are proven against a real database.
 *
 * The translation is small and lives here, never in the sink:
 * - DISTSTYLE / DISTKEY / SORTKEY clauses are dropped; SUPER is jsonb,
 *   VARBYTE(n) is bytea;
 * - `COPY t FROM 's3://bucket/key' ... FORMAT AS PARQUET | JSON 'auto'` reads
 *   the staged object from the local S3 server: Parquet through DuckDB (an
 *   independent reader; columns by position, as Redshift maps them), JSON
 *   lines by key, and inserts the rows into `t` with one parameterised
 *   statement;
 * - information_schema answers say `super` and `binary varying` for jsonb and
 *   bytea, as Redshift's would.
 * Every statement, untranslated, is appended to `log` (and to the file named
 * by ZETL_REDSHIFT_STATEMENT_LOG) for the sqlglot syntax check.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DuckDBInstance } from "@duckdb/node-api";
import type { RedshiftResultRow, RedshiftSinkConfig, RedshiftStatementRunner } from "../../packages/sinks/src/redshift/index.js";
import { ZeroEtlError } from "../../packages/core/src/index.js";

/** Options of {@link createPgTranslatingRunner}. */
export interface PgTranslatingRunnerOptions {
  /** postgres:// URL of the database standing in for Redshift. */
  readonly url: string;
  /** The local S3 server the sink stages to. */
  readonly s3: { readonly endpoint: string };
  /** Receives every statement as the sink issued it. */
  readonly log?: string[];
  /** Like the Data API, at most this many statements per transaction. */
  readonly maxTransactionStatements?: number;
}

const COPY = /^COPY "([^"]+)" FROM 's3:\/\/([^/']+)\/([^']+)' IAM_ROLE '[^']+' FORMAT AS (PARQUET|JSON 'auto'.*)$/;

/** The factory the CLI loads through `target.statementRunnerModule` (test support only). */
export function createRedshiftStatementRunner(config: RedshiftSinkConfig): RedshiftStatementRunner {
  if (config.url === undefined || config.staging.endpoint === undefined) throw new Error("the translating runner needs target.url and target.staging.endpoint");
  return createPgTranslatingRunner({ url: config.url.replace(/^redshift:/, "postgres:"), s3: { endpoint: config.staging.endpoint }, maxTransactionStatements: 40 });
}

/** Creates the translating runner (see the file comment). */
export function createPgTranslatingRunner(options: PgTranslatingRunnerOptions): RedshiftStatementRunner {
  let client: pg.Client | undefined;
  const s3 = new S3Client({ endpoint: options.s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  const logFile = process.env["ZETL_REDSHIFT_STATEMENT_LOG"];
  const connected = async (): Promise<pg.Client> => {
    if (client !== undefined) return client;
    const c = new pg.Client({ connectionString: options.url });
    c.on("error", () => {
      client = undefined;
    });
    await c.connect();
    client = c;
    return c;
  };
  const record = (statement: string): void => {
    options.log?.push(statement);
    if (logFile !== undefined) appendFileSync(logFile, `${JSON.stringify(statement)}\n`);
  };
  const run = async (c: pg.Client, statement: string): Promise<void> => {
    record(statement);
    const copy = COPY.exec(statement);
    if (copy !== null) return emulateCopy(c, s3, copy[1] ?? "", copy[2] ?? "", copy[3] ?? "", (copy[4] ?? "").startsWith("PARQUET") ? "parquet" : "json");
    await c.query(translate(statement));
  };
  const wrap = (error: unknown): ZeroEtlError => {
    const message = error instanceof Error ? error.message : String(error);
    return new ZeroEtlError(`translated statement failed: ${message}`, { code: "sink-failed", retryable: false, cause: error });
  };
  return {
    ...(options.maxTransactionStatements === undefined ? {} : { maxTransactionStatements: options.maxTransactionStatements }),
    async transaction(statements) {
      const c = await connected();
      try {
        await c.query("BEGIN");
        for (const statement of statements) await run(c, statement);
        await c.query("COMMIT");
      } catch (error) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw wrap(error);
      }
    },
    async execute(statement) {
      const c = await connected();
      try {
        await run(c, statement);
      } catch (error) {
        throw wrap(error);
      }
    },
    async query(statement, parameters = {}) {
      const c = await connected();
      record(statement);
      const values: string[] = [];
      const text = translate(statement).replace(/(?<!:):([a-z_][a-z0-9_]*)/gi, (_m, name: string) => {
        values.push(parameters[name] ?? "");
        return `$${values.length}`;
      });
      try {
        const result = await c.query<Record<string, unknown>>({ text, values });
        return result.rows.map((row): RedshiftResultRow => {
          const out: Record<string, string | null> = {};
          for (const [k, v] of Object.entries(row)) {
            let cell = v === null || v === undefined ? null : String(v);
            if (k === "data_type" && cell === "jsonb") cell = "super";
            if (k === "data_type" && cell === "bytea") cell = "binary varying";
            out[k] = cell;
          }
          // a bytea is unbounded: report Redshift's largest VARBYTE
          if (out["data_type"] === "binary varying" && "character_maximum_length" in out) out["character_maximum_length"] = "1024000";
          return out;
        });
      } catch (error) {
        throw wrap(error);
      }
    },
    async close() {
      s3.destroy();
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

/** The Redshift-only parts of a statement, in PostgreSQL. */
export function translate(statement: string): string {
  return statement
    .replace(/ DISTSTYLE (KEY|AUTO|EVEN|ALL)( DISTKEY \([^)]*\))?/g, "")
    .replace(/ (COMPOUND |INTERLEAVED )?SORTKEY \([^)]*\)/g, "")
    .replace(/\bSUPER\b/g, "jsonb")
    .replace(/\bVARBYTE\(\d+\)/g, "bytea");
}

async function emulateCopy(c: pg.Client, s3: S3Client, table: string, bucket: string, key: string, format: "parquet" | "json"): Promise<void> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await object.Body?.transformToByteArray();
  if (bytes === undefined) throw new Error(`staged object s3://${bucket}/${key} is empty`);
  const columns = (
    await c.query<{ name: string; type: string }>(
      "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      [`"${table}"`],
    )
  ).rows;
  let documents: string;
  if (format === "json") {
    // the lines go to PostgreSQL's json as text, so numbers keep every digit
    const text = Buffer.from(bytes).toString("utf8").trim();
    documents = `[${text.split("\n").filter((l) => l !== "").join(",")}]`;
  } else {
    documents = JSON.stringify(await readParquetAsText(bytes, columns));
  }
  const select = columns.map((col) => {
    const field = `e.j->>'${col.name.replace(/'/g, "''")}'`;
    if (col.type === "bytea") return `decode(${field}, 'hex')`;
    if (col.type === "jsonb") return `(e.j->'${col.name.replace(/'/g, "''")}')::jsonb`;
    return `(${field})::${col.type}`;
  });
  await c.query(`INSERT INTO "${table}" SELECT ${select.join(", ")} FROM json_array_elements($1::json) AS e(j)`, [documents]);
}

/** Parquet rows as objects of text cells, read by DuckDB with columns matched by position (as Redshift's COPY does). */
async function readParquetAsText(bytes: Uint8Array, columns: readonly { name: string; type: string }[]): Promise<Record<string, string | null>[]> {
  const dir = mkdtempSync(join(tmpdir(), "zetl-rs-copy-"));
  const file = join(dir, "staged.parquet");
  writeFileSync(file, bytes);
  const instance = await DuckDBInstance.create(":memory:");
  const duck = await instance.connect();
  try {
    const described = await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    const names = described.getRowObjects().map((r) => String(r["column_name"]));
    if (names.length !== columns.length) throw new Error(`COPY: the Parquet file has ${names.length} columns, table has ${columns.length}`);
    const exprs = names.map((n, i) => {
      const q = `"${n.replace(/"/g, '""')}"`;
      return columns[i]?.type === "bytea" ? `hex(${q}) AS c${i}` : `CAST(${q} AS VARCHAR) AS c${i}`;
    });
    await duck.run("SET TimeZone = 'UTC'").catch(() => undefined);
    const result = await duck.runAndReadAll(`SELECT ${exprs.join(", ")} FROM read_parquet('${file}')`);
    return result.getRows().map((row) => {
      const out: Record<string, string | null> = {};
      row.forEach((cell, i) => {
        const name = columns[i]?.name ?? `c${i}`;
        out[name] = cell === null ? null : String(cell);
      });
      return out;
    });
  } finally {
    duck.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}
