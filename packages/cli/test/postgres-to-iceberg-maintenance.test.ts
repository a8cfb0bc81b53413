import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// `zeroetl maintain` (compaction, expiry down to one snapshot, orphan
// removal) runs again and again while `zeroetl run` streams many small
// commits into the same Iceberg table. The run must never fail, and the table
// read back by icebird (an independent merge-on-read reader) must end equal
// to the source.
describe("zeroetl maintain beside a running PostgreSQL -> Iceberg pipeline", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_maint");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TABLE events (id bigint PRIMARY KEY, v text NOT NULL);
      INSERT INTO events SELECT g, 'seed' FROM generate_series(1, 20) g;`);
    ({ file: config } = await writeConfig({
      name: "lake_maintenance",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
      // a commit per few changes: many snapshots for maintenance to race with
      batch: { maxRows: 2, maxWaitMs: 20, lingerMs: 10 },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  const location = () => join(warehouse, "lake", "events");
  const sourceRows = async () => (await source.query<{ id: string; v: string }>(`SELECT id::text AS id, v FROM events ORDER BY events.id`)).rows;
  const lakeRows = async () =>
    ((await icebergRead({ tableUrl: location() })) as { id: unknown; v: unknown }[])
      .map((r) => ({ id: String(r.id), v: String(r.v) }))
      .sort((a, b) => Number(a.id) - Number(b.id));

  it("keeps streaming while snapshots are compacted, expired and orphans removed, and ends equal", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);

    // a file nothing references, old enough to be an orphan: maintenance must remove it
    const orphan = join(location(), "data", "orphan-left-by-a-crash.parquet");
    await writeFile(orphan, "x");
    const old = new Date(Date.now() - 3 * 24 * 3_600_000);
    await utimes(orphan, old, old);

    const runner = startCli(["run", config]);
    let exited = false;
    void runner.result.then(() => (exited = true));
    const writer = (async () => {
      for (let i = 1; i <= 80 && !exited; i++) {
        await source.query(`INSERT INTO events VALUES ($1, $2)`, [1000 + i, `new-${i}`]);
        await source.query(`UPDATE events SET v = $2 WHERE id = $1`, [(i % 20) + 1, `upd-${i}`]);
        if (i % 7 === 0) await source.query(`DELETE FROM events WHERE id = $1`, [1000 + i - 3]);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const maintenance: string[] = [];
    const maintainer = (async () => {
      for (let round = 0; round < 3 && !exited; round++) {
        const m = await runCli(["maintain", config, "--expire-older-than-hours", "0", "--retain-last", "1"]);
        maintenance.push(`${m.code}: ${m.stderr}${m.stdout}`);
      }
    })();
    await Promise.all([writer, maintainer]);
    expect(maintenance.every((m) => m.startsWith("0:")), maintenance.join("\n")).toBe(true);
    // the rounds did expire snapshots the running pipeline had committed
    expect(maintenance.some((m) => /expired [1-9]\d* snapshot/.test(m)), maintenance.join("\n")).toBe(true);

    // wait for the run to catch up (bounded; the assertions are on content, not on time)
    const catchUp = async () => {
      const expected = await sourceRows();
      for (let i = 0; i < 100 && !exited; i++) {
        const got = await lakeRows().catch(() => undefined);
        if (JSON.stringify(got) === JSON.stringify(expected)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await catchUp();
    await source.query(`INSERT INTO events VALUES (4000, 'idle')`);
    await catchUp();

    // the case: the idle pipeline's last snapshot is compacted away and
    // expired (its manifest list deleted), then rows arrive
    const idle = await runCli(["maintain", config, "--expire-older-than-hours", "0", "--retain-last", "1"]);
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stdout).toMatch(/expired [1-9]\d* snapshot/);
    for (let i = 1; i <= 5; i++) await source.query(`INSERT INTO events VALUES ($1, 'after')`, [5000 + i]);
    await catchUp();
    const expected = await sourceRows();
    const stillRunning = !exited;
    runner.kill("SIGTERM");
    const run = await runner.result;
    expect(stillRunning, run.stderr).toBe(true);
    expect(run.code, run.stderr).toBe(0);
    expect(await lakeRows()).toEqual(expected);

    // once more with nothing streaming: still equal, and the old orphan is gone
    const last = await runCli(["maintain", config, "--expire-older-than-hours", "0", "--retain-last", "1"]);
    expect(last.code, last.stderr).toBe(0);
    expect(await lakeRows()).toEqual(expected);
    await expect(utimes(orphan, old, old)).rejects.toThrow(/ENOENT/);
  }, 120_000);
});
