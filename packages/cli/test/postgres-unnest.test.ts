import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A jsonb column replicated PostgreSQL -> PostgreSQL with each unnest mode,
// live: snapshot, then an update that adds a new attribute and one that
// removes an attribute (its column must be cleared, not left stale).
describe("zeroetl with unnest modes on a jsonb column", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("cli_unnest");
    target = await createTestDatabase("cli_unnest_dst");
    await source.query(`
      CREATE TABLE events (id int PRIMARY KEY, doc jsonb);
      INSERT INTO events VALUES
        (1, '{"kind": "click", "at": {"page": "home", "pos": {"x": 3, "y": 4}}, "tags": ["a", "b"]}'),
        (2, '{"kind": "view", "amount": 123456789012345678901234567890.5}'),
        (3, NULL);`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  async function replicate(mode: string, lists?: "child-tables"): Promise<string> {
    const suffix = `${mode.replace("-", "_")}${lists === undefined ? "" : "_children"}`;
    const { file } = await writeConfig({
      name: `unnest_${suffix}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: `m_${suffix}` },
      mapping: { unnest: { mode, ...(lists === undefined ? {} : { lists }) } },
    });
    const run = await runCli(["run", file, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    return file;
  }

  it("replicates with none, top-level and all", async () => {
    const configs: Record<string, string> = {};
    for (const mode of ["none", "top-level", "all"]) configs[mode] = await replicate(mode);
    configs.children = await replicate("all", "child-tables");

    await source.query(`
      UPDATE events SET doc = doc || '{"extra": true}' WHERE id = 2;
      UPDATE events SET doc = doc - 'kind' WHERE id = 1;
      INSERT INTO events VALUES (4, '{"kind": "buy", "at": {"page": "cart"}}');`);
    await source.query(`UPDATE events SET doc = jsonb_set(doc, '{tags}', '["c"]') WHERE id = 1`);
    for (const mode of ["none", "top-level", "all", "children"]) {
      const run = await runCli(["run", configs[mode] ?? "", "--until-caught-up"]);
      expect(run.code, run.stderr).toBe(0);
    }

    const none = (await target.query(`SELECT id, doc::text AS doc FROM m_none.events ORDER BY id`)).rows;
    const truth = (await source.query(`SELECT id, doc::text AS doc FROM events ORDER BY id`)).rows;
    expect(none).toEqual(truth);

    const top = (await target.query(`SELECT id, doc__kind AS kind, doc__at::text AS at, doc__amount::text AS amount, doc__extra AS extra FROM m_top_level.events ORDER BY id`)).rows;
    expect(top).toEqual([
      { id: 1, kind: null, at: '{"pos": {"x": 3, "y": 4}, "page": "home"}', amount: null, extra: null },
      { id: 2, kind: "view", at: null, amount: "123456789012345678901234567890.5", extra: true },
      { id: 3, kind: null, at: null, amount: null, extra: null },
      { id: 4, kind: "buy", at: '{"page": "cart"}', amount: null, extra: null },
    ]);

    const all = (await target.query(`SELECT id, doc__kind AS kind, doc__at__page AS page, doc__at__pos__x::text AS x, doc__tags::text AS tags FROM m_all.events ORDER BY id`)).rows;
    expect(all).toEqual([
      { id: 1, kind: null, page: "home", x: "3", tags: '["c"]' },
      { id: 2, kind: "view", page: null, x: null, tags: null },
      { id: 3, kind: null, page: null, x: null, tags: null },
      { id: 4, kind: "buy", page: "cart", x: null, tags: null },
    ]);

    // lists as child tables: the update replaced the two old tags of row 1
    // by one (without a before-image, through a delete by the root key)
    const children = (await target.query(`SELECT * FROM m_all_children.events__doc__tags ORDER BY id, _zeroetl_list_idx`)).rows;
    expect(children.map((r) => [r.id, r._zeroetl_list_idx, r.value])).toEqual([[1, 0, "c"]]);
  });
});
