import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

// History mode through the CLI: a PostgreSQL -> PostgreSQL pipeline with
// target.history is killed with SIGKILL while a writer updates rows, and
// restarted. Every update adds 1 to a row's `val`, so the versions of a key
// must be exactly val = 0, 1, ..., current, each once, chained without gaps.
describe("PostgreSQL -> PostgreSQL history mode through the CLI, killed with SIGKILL", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("hist_src");
    target = await createTestDatabase("hist_dst");
    await source.query(`CREATE TABLE items (id int PRIMARY KEY, val int NOT NULL, note text)`);
    await source.query(`INSERT INTO items SELECT g, 0, 'note ' || g FROM generate_series(1, 300) g`);
    ({ file: config } = await writeConfig({
      name: "history",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "replica", history: { tables: ["public.items"] } },
      batch: { maxRows: 200, maxWaitMs: 200 },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    // the initial snapshot completes before the kills start: a killed snapshot is taken again (see the sink docs)
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("records every source version exactly once", async () => {
    let writing = true;
    let nextId = 10_000;
    let updates = 0;
    let lastBig = Date.now();
    const writer = (async () => {
      let round = 0;
      while (writing) {
        round += 1;
        // one transaction: two updates of distinct keys, and an insert every few rounds
        await source.query(
          `WITH a AS (UPDATE items SET val = val + 1 WHERE id = $1::int),
                b AS (INSERT INTO items SELECT $3::int, 0, 'new' WHERE $4::bool)
           UPDATE items SET val = val + 1, note = 'round ' || $5::int WHERE id = $2::int`,
          [1 + ((round * 7919) % 300), 1 + (((round * 7919) % 300) + 1 + (round % 299)) % 300, nextId, round % 7 === 0, round],
        );
        if (round % 7 === 0) nextId += 1;
        updates += 2;
        if (Date.now() - lastBig > 1200) {
          // a transaction of more than 5 000 changes: the source splits it, so a kill can land between its parts
          await source.query(`DO $$ BEGIN FOR i IN 1..20 LOOP UPDATE items SET val = val + 1; END LOOP; END $$`);
          lastBig = Date.now();
        }
      }
    })();

    for (let kill = 0; kill < 3; kill++) {
      const runner = startCli(["run", config]);
      await new Promise((r) => setTimeout(r, 2000 + kill * 700));
      runner.kill("SIGKILL");
      const result = await runner.result;
      expect(result.signal, result.stderr).toBe("SIGKILL");
    }
    writing = false;
    await writer;
    expect(updates).toBeGreaterThan(100);
    const final = await runCli(["run", config, "--until-caught-up"]);
    expect(final.code, final.stderr).toBe(0);

    const current = (await source.query(`SELECT id, val FROM items ORDER BY id`)).rows as { id: number; val: number }[];
    const versions = (
      await target.query(
        `SELECT id, val, _zeroetl_valid_from AS vfrom, _zeroetl_valid_to AS vto, _zeroetl_is_current AS cur FROM replica.items ORDER BY id, val`,
      )
    ).rows as { id: number; val: number; vfrom: string; vto: string | null; cur: boolean }[];
    const byId = new Map<number, typeof versions>();
    for (const v of versions) {
      let list = byId.get(v.id);
      if (list === undefined) byId.set(v.id, (list = []));
      list.push(v);
    }
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual(current.map((r) => r.id));
    let problems = 0;
    let total = 0;
    for (const { id, val } of current) {
      const list = byId.get(id) ?? [];
      total += list.length;
      const vals = list.map((v) => v.val);
      const chained = list.every((v, i) => (i === list.length - 1 ? v.vto === null && v.cur : v.vto === list[i + 1]?.vfrom && !v.cur));
      if (vals.length !== val + 1 || vals.some((x, i) => x !== i) || !chained) problems += 1;
    }
    expect(problems).toBe(0);
    // every update made a version: the snapshot's and inserts' versions plus one per update
    expect(total).toBe(current.length + current.reduce((n, r) => n + r.val, 0));
  }, 120_000);
});
