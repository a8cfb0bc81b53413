import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

// A target without a writer lock of its own (Iceberg) is guarded by a lock
// file in the state directory: a second run or a resync beside a running
// run refuses with exit 3; a lock file left by a process that is gone is
// taken over.
describe("PostgreSQL -> Iceberg: one writer per pipeline through the state directory", () => {
  let source: TestDatabase;
  let warehouse: string;
  let file: string;
  let dir: string;
  const runs: ReturnType<typeof startCli>[] = [];

  beforeAll(async () => {
    source = await createTestDatabase("ice_lock");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-ice-lock-"));
    await source.query("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)");
    await source.query("INSERT INTO items SELECT g, 0 FROM generate_series(1, 100) g");
    ({ file, dir } = await writeConfig({
      name: "ice_lock",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    }));
  });

  afterAll(async () => {
    for (const run of runs) if (run.exitCode === null && run.signalCode === null) run.kill("SIGKILL");
    await Promise.all(runs.map((run) => run.result));
    await source?.drop();
    if (warehouse !== undefined) await rm(warehouse, { recursive: true, force: true });
  });

  it("lets one run write and refuses a second run and a resync", async () => {
    // a lock file of a process that no longer exists is taken over
    await mkdir(join(dir, "state"), { recursive: true });
    await writeFile(join(dir, "state", "ice_lock.lock"), JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), startedAt: "2026-01-01T00:00:00Z" }));
    const first = startCli(["run", file]);
    runs.push(first);
    for (let i = 0; i < 200 && first.exitCode === null; i++) {
      const text = await readFile(join(dir, "state", "ice_lock.lock"), "utf8").catch(() => "");
      if (text.includes(`"pid":${first.pid}`)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(3);
    expect(second.stderr).toMatch(new RegExp(`pipeline ice_lock is already running: .*ice_lock\\.lock is held by process ${first.pid} on .*\\[pipeline-locked\\]`));
    const resync = await runCli(["resync", file, "public.items"]);
    expect(resync.code, resync.stderr).toBe(3);
    first.kill("SIGTERM");
    const done = await first.result;
    expect(done.code, done.stderr).toBe(0);
    // released: the next run goes ahead
    const after = await runCli(["run", file, "--until-caught-up"]);
    expect(after.code, after.stderr).toBe(0);
  });
});
