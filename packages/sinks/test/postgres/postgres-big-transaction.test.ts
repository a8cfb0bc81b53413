import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../../..");
const ROWS = 200_000;
/**
 * Peak RSS bound for the pipeline process. Measured: about 117 MB for a run
 * with nothing to do (node, tsx, pg, kysely loaded), about 240 MB for this
 * 200k-row transaction and about 255 MB for a 1M-row one (bench/big-tx.ts):
 * the working set is bounded by the replication queue (20 000 messages), the
 * source's 5 000-event batches and the runtime's 10 000-row flushes, not by
 * the transaction's size. A leak that held the transaction would need well
 * over 300 MB at 200k rows.
 */
const MAX_RSS_MB = 300;

interface ChildResult {
  readonly rows: number;
  readonly ms: number;
  readonly maxRssKb: number;
}

function runChild(env: Record<string, string>): Promise<ChildResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(here, "pipeline-child.ts")], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => {
      if (code !== 0) return fail(new Error(`pipeline child exited ${code}: ${err}`));
      const line = out.trim().split("\n").pop() ?? "";
      done(JSON.parse(line) as ChildResult);
    });
  });
}

describe("a 200k-row transaction PG -> PG through runPipeline", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    source = await createTestDatabase("bigtx_src");
    target = await createTestDatabase("bigtx_dst");
    await source.query("CREATE TABLE bench (id int8 PRIMARY KEY, qty int4, name text, price numeric(12,2), at timestamptz)");
    env = {
      ZETL_CHILD_SOURCE_URL: source.url,
      ZETL_CHILD_TARGET_URL: target.url,
      ZETL_CHILD_PIPELINE: `bigtx_${source.name.slice(-6)}`,
      ZETL_CHILD_TABLE: "public.bench",
    };
    // the first run snapshots the empty table and creates the slot
    const first = await runChild(env);
    expect(first.rows).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("applies every row with bounded memory", async () => {
    await source.query(
      `INSERT INTO bench SELECT g, g % 1000, 'customer-' || g, (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    const result = await runChild(env);
    expect(result.rows).toBe(ROWS);
    const check = await target.query(`SELECT count(*)::int AS n, sum(qty)::bigint::text AS q, sum(price)::text AS p, max(at) = timestamptz '2024-01-01 00:00:00+00' + $1::int * interval '1 second' AS last FROM public.bench`, [ROWS]);
    const expected = await source.query(`SELECT count(*)::int AS n, sum(qty)::bigint::text AS q, sum(price)::text AS p FROM public.bench`);
    expect(check.rows[0]).toEqual({ ...expected.rows[0], last: true });
    expect(result.maxRssKb / 1024).toBeLessThan(MAX_RSS_MB);
  });
});
