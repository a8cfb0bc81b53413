import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { createTestDatabase, withDatabase, TEST_PG_URL, type TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../../test-support/cli.js";
import { startS3rver, type LocalS3 } from "../../../../test-support/s3rver.js";
import { checkRedshiftSyntax } from "../../../../test-support/redshift/redshift-syntax-check.js";

const runnerModule = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../test-support/redshift/pg-translating-runner.ts");

// PostgreSQL -> Redshift through the CLI, the sink's statements run on the
// local PostgreSQL by the test-only translating runner (COPY served from the
// local S3 server). Killed with SIGKILL mid-load and restarted: in the end the
// target equals the source, compared with plain SQL, and every statement the
// sink issued parses as Redshift.
describe("PostgreSQL -> Redshift (translated onto PostgreSQL) through the CLI", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let s3: LocalS3<S3Client>;
  let config: string;
  let env: NodeJS.ProcessEnv;
  const logDir = mkdtempSync(join(tmpdir(), "zetl-rs-log-"));
  const logFile = join(logDir, "statements.jsonl");

  beforeAll(async () => {
    source = await createTestDatabase("rs_cli_src");
    target = await createTestDatabase("rs_cli_dst");
    s3 = await startS3rver((c) => new S3Client(c));
    await s3.client.send(new CreateBucketCommand({ Bucket: "rs-stage" }));
    await source.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(20,2), doc jsonb, raw bytea, at timestamptz, version int NOT NULL)`);
    await source.query(`ALTER TABLE items REPLICA IDENTITY FULL`);
    // a table without SUPER columns is staged as Parquet (items, with jsonb -> SUPER, as JSON lines)
    await source.query(`CREATE TABLE accounts (id int PRIMARY KEY, owner varchar(40) NOT NULL, balance numeric(20,2) NOT NULL, opened timestamptz, version int NOT NULL)`);
    await source.query(`INSERT INTO accounts SELECT g, 'owner ' || g, g * 10, '2026-01-01T00:00:00.123456Z'::timestamptz + g * interval '1 minute', 0 FROM generate_series(1, 1500) g`);
    await source.query(
      `INSERT INTO items SELECT g, 'item ' || g, g * 1.25, jsonb_build_object('g', g, 'big', 123456789012345678901234567890), decode(lpad(to_hex(g), 8, '0'), 'hex'), '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 second', 0 FROM generate_series(1, 1500) g`,
    );
    const targetUrl = new URL(withDatabase(TEST_PG_URL, target.name));
    ({ file: config } = await writeConfig({
      name: "rs_cli",
      source: { type: "postgres", url: source.url },
      target: {
        type: "redshift",
        url: `redshift://${targetUrl.username}@${targetUrl.host}/${target.name}`,
        schema: "dw",
        staging: { uri: "s3://rs-stage/loads", iamRole: "arn:aws:iam::123456789012:role/zeroetl-copy", endpoint: s3.endpoint, forcePathStyle: true },
        writerLeaseSeconds: 5,
        statementRunnerModule: runnerModule,
      },
      batch: { maxRows: 400, maxWaitMs: 200 },
    }));
    env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1", ZETL_REDSHIFT_STATEMENT_LOG: logFile };
    const check = await runCli(["check", config, "--fix"], env);
    expect(check.code, check.stderr + check.stdout).toBe(0);
  }, 120_000);

  afterAll(async () => {
    s3?.client.destroy();
    await s3?.stop();
    await source?.drop();
    await target?.drop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it("ends with the target equal to the source after kill -9 mid-load, without duplicates, and every statement parses as Redshift", async () => {
    let writing = true;
    let nextId = 100_000;
    const writer = (async () => {
      let round = 0;
      while (writing) {
        round += 1;
        await source.query(
          `WITH i AS (INSERT INTO items VALUES ($1::bigint, 'new ' || $1::bigint, 1, '{"a": [1, 2]}', '\\x00ff', now(), 0)),
                u AS (UPDATE items SET price = price + 1, version = version + 1, doc = doc || '{"u": true}' WHERE id = $2::bigint)
           DELETE FROM items WHERE id = $3::bigint AND $4::bool`,
          [nextId++, 1 + ((round * 7919) % 1500), 1 + ((round * 104729) % 1500), round % 5 === 0],
        );
        await source.query(`UPDATE accounts SET balance = balance + 0.01, version = version + 1 WHERE id = $1::int`, [1 + ((round * 13) % 1500)]);
        if (round % 25 === 0) await source.query(`UPDATE items SET id = id + 1000000 WHERE id = $1::bigint`, [1 + ((round * 31) % 1500)]);
      }
    })();
    let seed = 11;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const copies = (): number => {
      try {
        return readFileSync(logFile, "utf8").split("\n").filter((l) => l.startsWith('"COPY ')).length;
      } catch {
        return 0;
      }
    };
    for (let kill = 0; kill < 2; kill++) {
      const runner = startCli(["run", config], env);
      // kill once this run is loading (a COPY issued), at a random point after it
      const before = copies();
      for (let waited = 0; copies() <= before && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      // the run is loading: the kill lands mid-load
      expect(copies()).toBeGreaterThan(before);
      await new Promise((r) => setTimeout(r, random() * 1500));
      runner.kill("SIGKILL");
      const result = await runner.result;
      expect(result.signal, result.stderr).toBe("SIGKILL");
    }
    writing = false;
    await writer;
    const final = await runCli(["run", config, "--until-caught-up"], env);
    expect(final.code, final.stderr).toBe(0);

    const rows = async (db: TestDatabase, table: string) =>
      (await db.query(`SELECT id::text AS id, name, price::text AS price, doc::jsonb::text AS doc, encode(raw, 'hex') AS raw, at, version FROM ${table} ORDER BY id`)).rows;
    const expected = await rows(source, "items");
    const actual = await rows(target, "dw.items");
    expect(actual.length).toBe(expected.length);
    expect(actual).toEqual(expected);
    const accounts = async (db: TestDatabase, table: string) =>
      (await db.query(`SELECT id, owner, balance::text AS balance, opened, version FROM ${table} ORDER BY id`)).rows;
    expect(await accounts(target, "dw.accounts")).toEqual(await accounts(source, "accounts"));
    const dupes = await target.query(`SELECT id FROM dw.items GROUP BY id HAVING count(*) > 1`);
    expect(dupes.rows).toEqual([]);
    const state = await target.query(`SELECT state FROM dw._zeroetl_table_state WHERE pipeline = 'rs_cli'`);
    expect(state.rows.map((r) => r.state)).toEqual(["synced", "synced"]);
    // staged files are removed after each commit; a killed run's leftovers are swept on the next open
    const left = await s3.client.send(new ListObjectsV2Command({ Bucket: "rs-stage" }));
    expect(left.Contents ?? []).toEqual([]);

    const statements = [...new Set(readFileSync(logFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string))];
    expect(statements.some((s) => s.startsWith("COPY ") && s.includes("FORMAT AS PARQUET"))).toBe(true);
    expect(statements.some((s) => s.startsWith("COPY ") && s.includes("FORMAT AS JSON"))).toBe(true);
    expect(statements.some((s) => s.startsWith("DELETE FROM ") && s.includes(" USING "))).toBe(true);
    expect(await checkRedshiftSyntax(statements)).toEqual([]);
  }, 240_000);

  it("lets one of two runs started at once write: the other exits with a clear message (the writer lease)", async () => {
    const a = startCli(["run", config], env);
    const b = startCli(["run", config], env);
    try {
      const first = await Promise.race([a.result.then(() => "a" as const), b.result.then(() => "b" as const)]);
      const [loser, winner] = first === "a" ? [a, b] : [b, a];
      const refused = await loser.result;
      expect(refused.code, refused.stderr).toBe(3);
      expect(refused.stderr).toMatch(/pipeline rs_cli is already running: its writer lease in target 127\.0\.0\.1:\d+\/zetl_rs_cli_dst_\w+ is held by .*:\d+ since .* and renewed\. Stop that run first; nothing was changed.*\[pipeline-locked\]/);
      expect(winner.exitCode).toBeNull();
      await source.query(`UPDATE accounts SET version = version + 1 WHERE id <= 10`);
      winner.kill("SIGTERM");
      const done = await winner.result;
      expect(done.code, done.stderr).toBe(0);
    } finally {
      for (const child of [a, b]) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    // the stopped run freed its lease: the next run starts at once and catches up
    const final = await runCli(["run", config, "--until-caught-up"], env);
    expect(final.code, final.stderr).toBe(0);
    const accounts = async (db: TestDatabase, table: string) => (await db.query(`SELECT id, balance::text AS balance, version FROM ${table} ORDER BY id`)).rows;
    expect(await accounts(target, "dw.accounts")).toEqual(await accounts(source, "accounts"));
    const statements = [...new Set(readFileSync(logFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string))];
    expect(statements.some((s) => s.includes("_zeroetl_writer_lease"))).toBe(true);
    expect(await checkRedshiftSyntax(statements)).toEqual([]);
  }, 120_000);
});
