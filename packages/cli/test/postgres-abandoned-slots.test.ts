import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A renamed pipeline leaves its old slot behind, holding WAL. `check` of the
// new name lists it with the WAL it retains; `--drop-slot NAME` drops it,
// and nothing else: never the pipeline's own slot, never an unnamed one.
describe("check lists and drops abandoned zeroetl_* slots", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("slots_src");
    target = await createTestDatabase("slots_dst");
    await source.query("CREATE TABLE items (id int PRIMARY KEY, pad text)");
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const config = (name: string) =>
    writeConfig({ name, source: { type: "postgres", url: source.url }, target: { type: "postgres", url: target.url, schema: name } });

  async function slots(): Promise<string[]> {
    return ((await source.query("SELECT slot_name FROM pg_replication_slots WHERE database = current_database() ORDER BY slot_name")).rows as { slot_name: string }[]).map(
      (r) => r.slot_name,
    );
  }

  it("lists the old slot of a renamed pipeline and drops it only when named", async () => {
    const { file: old } = await config("shop_v1");
    expect((await runCli(["run", old, "--until-caught-up"])).code).toBe(0);
    // WAL written after the old pipeline stopped reading
    await source.query("INSERT INTO items SELECT g, repeat('x', 1000) FROM generate_series(1, 3000) g");

    const { file: renamed } = await config("shop_v2");
    expect((await runCli(["run", renamed, "--until-caught-up"])).code).toBe(0);
    expect(await slots()).toEqual(["zeroetl_shop_v1", "zeroetl_shop_v2"]);

    const listed = await runCli(["check", renamed]);
    expect(listed.code, listed.stdout).toBe(0);
    expect(listed.stdout).toMatch(/warn\s+postgres\.other_slots\s+inactive replication slot zeroetl_shop_v1 is not this pipeline's and retains [1-9]\d* MB of WAL/);
    expect(listed.stdout).toContain("--drop-slot zeroetl_shop_v1");
    expect(listed.stdout).not.toMatch(/other_slots.*zeroetl_shop_v2/);
    // --fix drops no slot, and the pipeline's own slot is refused even when named
    const own = await runCli(["check", renamed, "--fix", "--drop-slot", "zeroetl_shop_v2"]);
    expect(own.code).toBe(1);
    expect(own.stdout).toContain("replication slot zeroetl_shop_v2 is this pipeline's own slot and is never dropped by check");
    expect(await slots()).toEqual(["zeroetl_shop_v1", "zeroetl_shop_v2"]);

    const dropped = await runCli(["check", renamed, "--drop-slot", "zeroetl_shop_v1"]);
    expect(dropped.code, dropped.stdout).toBe(0);
    expect(dropped.stdout).toMatch(/fixed\s+postgres\.other_slots\s+dropped inactive replication slot zeroetl_shop_v1/);
    expect(await slots()).toEqual(["zeroetl_shop_v2"]);
  });
});
