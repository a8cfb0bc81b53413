import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

// The initial load by binary COPY sets a fresh target table's primary key
// aside and builds it once the rows are in. A kill -9 between the two (the
// CLI's test-only kill switch, right after the first CTID range committed)
// must leave the next run neither a keyless table nor duplicates: checked by
// plain SQL on both sides, and in the target's catalog.

async function fingerprint(db: TestDatabase, table: string): Promise<{ n: string; h: string }> {
  const result = await db.query<{ n: string; h: string }>(`SELECT count(*)::text AS n, coalesce(sum(hashtext(ROW(id, amount::text, memo)::text)::bigint), 0)::text AS h FROM ${table}`);
  const row = result.rows[0];
  if (row === undefined) throw new Error(`no fingerprint of ${table}`);
  return row;
}

async function primaryKey(db: TestDatabase, table: string): Promise<string | undefined> {
  const result = await db.query<{ def: string }>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [table]);
  return result.rows[0]?.def;
}

describe("PostgreSQL target: the primary key deferred during a COPY snapshot", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("dkey_src");
    target = await createTestDatabase("dkey_dst");
    // fillfactor 10 spreads the rows over enough pages for four CTID ranges, twice the parallelism:
    // when the first range commits, the last ones have not started
    await source.query(`
      CREATE TABLE ledger (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, memo text) WITH (fillfactor = 10);
      INSERT INTO ledger SELECT g, g / 100.0, 'memo ' || g || repeat('m', 60) FROM generate_series(1, 40000) g;`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("resumes a load killed while the key was set aside: no duplicates, no losses, the key back", async () => {
    const { file } = await writeConfig({
      name: "dkey",
      log: { level: "info" },
      source: { type: "postgres", url: source.url, snapshot: { parallelism: 2 } },
      target: { type: "postgres", url: target.url, schema: "dw" },
    });
    const killed = await runCli(["run", file, "--until-caught-up"], { ZEROETL_TEST_KILL_AFTER: "snapshot-progress:table=public.ledger,done=false" });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    expect(killed.stdout + killed.stderr).toMatch(/"parts":4,/);
    // the kill landed inside the load: a range committed, not all, and the key was aside
    const landed = Number((await fingerprint(target, "dw.ledger")).n);
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(40000);
    expect(await primaryKey(target, "dw.ledger")).toBeUndefined();
    expect((await target.query(`SELECT table_name, definition FROM dw._zeroetl_deferred_keys`)).rows).toEqual([{ table_name: "ledger", definition: "PRIMARY KEY (id)" }]);

    await source.query(`UPDATE ledger SET memo = 'edited' WHERE id % 1000 = 0; DELETE FROM ledger WHERE id = 7; INSERT INTO ledger VALUES (40001, 1, 'late')`);
    const resumed = await runCli(["run", file, "--until-caught-up"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await fingerprint(target, "dw.ledger")).toEqual(await fingerprint(source, "ledger"));
    expect(await primaryKey(target, "dw.ledger")).toBe("PRIMARY KEY (id)");
    expect((await target.query(`SELECT count(*)::int AS n FROM dw._zeroetl_deferred_keys`)).rows).toEqual([{ n: 0 }]);
    const doubled = await target.query(`SELECT id FROM dw.ledger GROUP BY id HAVING count(*) > 1`);
    expect(doubled.rows).toEqual([]);

    // and the stream goes on through the key (an update by key, a delete by key)
    await source.query(`UPDATE ledger SET amount = 0 WHERE id BETWEEN 100 AND 200; DELETE FROM ledger WHERE id = 40001`);
    const again = await runCli(["run", file, "--until-caught-up"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await fingerprint(target, "dw.ledger")).toEqual(await fingerprint(source, "ledger"));
  }, 120_000);

  it("sets the key aside for a big never-analyzed table read in one stream (parallelism 1)", async () => {
    // never analyzed (autovacuum off): no row estimate, and one stream reads it in one part; its size in blocks decides
    await source.query(`
      CREATE TABLE journal (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, memo text) WITH (fillfactor = 10, autovacuum_enabled = false);
      INSERT INTO journal SELECT g, g / 100.0, 'memo ' || g || repeat('j', 60) FROM generate_series(1, 20000) g;`);
    const { file } = await writeConfig({
      name: "dkey_one",
      log: { level: "debug" },
      source: { type: "postgres", url: source.url, snapshot: { parallelism: 1 } },
      target: { type: "postgres", url: target.url, schema: "dw_one" },
      filter: { include: ["public.journal"] },
    });
    const run = await runCli(["run", file, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    const output = run.stdout + run.stderr;
    expect(output).toMatch(/"parts":1,/);
    expect(output).toContain("primary key built after the COPY");
    expect(await fingerprint(target, "dw_one.journal")).toEqual(await fingerprint(source, "journal"));
    expect(await primaryKey(target, "dw_one.journal")).toBe("PRIMARY KEY (id)");
  }, 120_000);
});
