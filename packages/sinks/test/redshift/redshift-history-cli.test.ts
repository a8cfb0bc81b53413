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

// History mode on the Redshift sink through the CLI (statements run on the
// local PostgreSQL by the test-only translating runner). Every update adds 1
// to a row's `val`, so a key's versions must be exactly val = 0, 1, ...,
// current, each once, chained without gaps, after the run is killed with
// SIGKILL mid-load (a COPY issued) twice and restarted. Some rows carry
// a 22 kB out-of-line (TOAST) value the updates leave unchanged, so the
// source omits it: every version must still hold it. Every statement the
// sink issued parses as Redshift.
describe("PostgreSQL -> Redshift history mode (translated onto PostgreSQL) through the CLI", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let s3: LocalS3<S3Client>;
  let config: string;
  let env: NodeJS.ProcessEnv;
  const logDir = mkdtempSync(join(tmpdir(), "zetl-rsh-log-"));
  const logFile = join(logDir, "statements.jsonl");

  beforeAll(async () => {
    source = await createTestDatabase("rsh_src");
    target = await createTestDatabase("rsh_dst");
    s3 = await startS3rver((c) => new S3Client(c));
    await s3.client.send(new CreateBucketCommand({ Bucket: "rsh-stage" }));
    await source.query(`CREATE TABLE items (id int PRIMARY KEY, val int NOT NULL, note text, big text)`);
    await source.query(`INSERT INTO items SELECT g, 0, 'note ' || g, NULL FROM generate_series(1, 300) g`);
    // incompressible, so stored out of line: an update that leaves it alone does not send it
    await source.query(`UPDATE items SET big = (SELECT string_agg(md5(random()::text || id::text || s::text), '') FROM generate_series(1, 700) s) WHERE id % 15 = 0`);
    const targetUrl = new URL(withDatabase(TEST_PG_URL, target.name));
    ({ file: config } = await writeConfig({
      name: "rs_hist",
      source: { type: "postgres", url: source.url },
      target: {
        type: "redshift",
        url: `redshift://${targetUrl.username}@${targetUrl.host}/${target.name}`,
        schema: "dw",
        history: { tables: ["public.items"] },
        staging: { uri: "s3://rsh-stage/loads", iamRole: "arn:aws:iam::123456789012:role/zeroetl-copy", endpoint: s3.endpoint, forcePathStyle: true },
        writerLeaseSeconds: 2,
        statementRunnerModule: runnerModule,
      },
      batch: { maxRows: 200, maxWaitMs: 200 },
    }));
    env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1", ZETL_REDSHIFT_STATEMENT_LOG: logFile };
    const check = await runCli(["check", config, "--fix"], env);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    // the initial snapshot completes before the kills start: a killed snapshot is taken again (extra snapshot versions, see the docs)
    const first = await runCli(["run", config, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    s3?.client.destroy();
    await s3?.stop();
    await source?.drop();
    await target?.drop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it("records every source version exactly once after kill -9 mid-load, and every statement parses as Redshift", async () => {
    let writing = true;
    let nextId = 10_000;
    let updates = 0;
    let bigOnes = 0;
    let lastBig = Date.now();
    const writer = (async () => {
      let round = 0;
      while (writing) {
        round += 1;
        // one transaction: two updates of distinct keys, and an insert every few rounds
        await source.query(
          `WITH a AS (UPDATE items SET val = val + 1 WHERE id = $1::int),
                b AS (INSERT INTO items SELECT $3::int, 0, 'new', NULL WHERE $4::bool)
           UPDATE items SET val = val + 1, note = 'round ' || $5::int WHERE id = $2::int`,
          [1 + ((round * 7919) % 300), 1 + ((((round * 7919) % 300) + 1 + (round % 299)) % 300), nextId, round % 7 === 0, round],
        );
        if (round % 7 === 0) nextId += 1;
        updates += 2;
        if (bigOnes < 1 && Date.now() - lastBig > 1500) {
          bigOnes += 1;
          // a transaction of more than 5 000 changes: the source splits it, so a kill can land between its parts
          await source.query(`DO $$ BEGIN FOR i IN 1..20 LOOP UPDATE items SET val = val + 1; END LOOP; END $$`);
          lastBig = Date.now();
        }
      }
    })();
    let seed = 17;
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
    expect(updates).toBeGreaterThan(50);
    const final = await runCli(["run", config, "--until-caught-up"], env);
    expect(final.code, final.stderr).toBe(0);

    const current = (await source.query(`SELECT id, val, md5(big) AS big FROM items ORDER BY id`)).rows as { id: number; val: number; big: string | null }[];
    const versions = (
      await target.query(
        `SELECT id, val, md5(big) AS big, _zeroetl_valid_from AS vfrom, _zeroetl_valid_to AS vto, _zeroetl_is_current AS cur, _zeroetl_op AS op FROM dw.items ORDER BY id, val`,
      )
    ).rows as { id: number; val: number; big: string | null; vfrom: string; vto: string | null; cur: boolean; op: string }[];
    const byId = new Map<number, typeof versions>();
    for (const v of versions) {
      let list = byId.get(v.id);
      if (list === undefined) byId.set(v.id, (list = []));
      list.push(v);
    }
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual(current.map((r) => r.id));
    const problems: string[] = [];
    let total = 0;
    for (const { id, val, big } of current) {
      const list = byId.get(id) ?? [];
      total += list.length;
      const vals = list.map((v) => v.val);
      const chained = list.every((v, i) => (i === list.length - 1 ? v.vto === null && v.cur : v.vto === list[i + 1]?.vfrom && !v.cur));
      if (vals.length !== val + 1 || vals.some((x, i) => x !== i) || !chained) problems.push(`id ${id}: vals ${vals.join(",")} (want 0..${val}), chained ${chained}`);
      if (list.some((v) => v.big !== big)) problems.push(`id ${id}: a version lost its out-of-line value`);
    }
    expect(problems.slice(0, 10)).toEqual([]);
    // every update made a version: the snapshot's and inserts' versions plus one per update
    expect(total).toBe(current.length + current.reduce((n, r) => n + r.val, 0));
    expect(current.filter((r) => r.big !== null).length).toBe(20);
    const state = await target.query(`SELECT state FROM dw._zeroetl_table_state WHERE pipeline = 'rs_hist'`);
    expect(state.rows.map((r) => r.state)).toEqual(["synced"]);
    const left = await s3.client.send(new ListObjectsV2Command({ Bucket: "rsh-stage" }));
    expect(left.Contents ?? []).toEqual([]);

    const statements = [...new Set(readFileSync(logFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string))];
    expect(statements.some((s) => s.startsWith("UPDATE ") && s.includes('"_zeroetl_is_current" = FALSE'))).toBe(true);
    expect(await checkRedshiftSyntax(statements)).toEqual([]);
  }, 240_000);
});
