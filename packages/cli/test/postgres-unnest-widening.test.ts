import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// A jsonb attribute that changes type under unnest `top-level`, PostgreSQL ->
// Iceberg and -> PostgreSQL through the CLI, with restarts between the
// changes: 1500, then 0.5 (Iceberg cannot promote long to decimal), then 2
// after a restart, then a string. Iceberg is read back with icebird, the
// PostgreSQL target with SQL, each compared with the source's own
// `doc ->> 'f'`.
describe("zeroetl with a jsonb attribute changing type under unnest", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let warehouse: string;
  let restoreFetch: () => void;
  const files: { lake: string; warehouse: string } = { lake: "", warehouse: "" };

  beforeAll(async () => {
    source = await createTestDatabase("cli_unnest_widen");
    target = await createTestDatabase("cli_unnest_widen_dst");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-unnest-widen-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`CREATE TABLE docs (id int PRIMARY KEY, doc jsonb); INSERT INTO docs VALUES (1, '{"f": 1500, "g": "x"}');`);
    const mapping = { unnest: { mode: "top-level" } };
    files.lake = (await writeConfig({ name: "widen_lake", source: { type: "postgres", url: source.url }, target: { type: "iceberg", warehouse, namespace: "lake" }, mapping })).file;
    files.warehouse = (await writeConfig({ name: "widen_wh", source: { type: "postgres", url: source.url }, target: { type: "postgres", url: target.url, schema: "wh" }, mapping })).file;
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await target?.drop();
    if (warehouse !== undefined) await rm(warehouse, { recursive: true, force: true });
  });

  const runBoth = async (): Promise<void> => {
    for (const file of [files.lake, files.warehouse]) {
      const run = await runCli(["run", file, "--until-caught-up"]);
      expect(run.code, run.stderr).toBe(0);
    }
  };
  /** The one non-null value among `doc__f` and its variant columns, as text. */
  const valueOf = (row: Record<string, unknown>): string | null => {
    const present = Object.entries(row).filter(([name, v]) => (name === "doc__f" || name.startsWith("doc__f__v_")) && v !== null && v !== undefined);
    expect(present.length, JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).toBeLessThanOrEqual(1);
    const value = present[0]?.[1];
    return value === undefined ? null : String(value);
  };

  it("keeps every value of an attribute whose type changes, across restarts, in both targets", async () => {
    await runBoth();
    await source.query(`INSERT INTO docs VALUES (2, '{"f": 0.5}')`);
    await runBoth();
    await source.query(`INSERT INTO docs VALUES (3, '{"f": 2}'), (4, '{"f": "s"}'); UPDATE docs SET doc = '{"f": 7}' WHERE id = 1;`);
    await runBoth();

    const truth = (await source.query(`SELECT id, doc ->> 'f' AS f, doc ->> 'g' AS g FROM docs ORDER BY id`)).rows.map((r) => ({ id: Number(r.id), f: r.f as string, g: r.g as string | null }));
    const lake = ((await icebergRead({ tableUrl: join(warehouse, "lake", "docs") })) as Record<string, unknown>[])
      .map((r) => ({ id: Number(r.id), f: valueOf(r), g: (r.doc__g as string | null | undefined) ?? null }))
      .sort((a, b) => a.id - b.id);
    // icebird reads decimals as JS numbers: 0.5 and 2 are exact in them
    expect(lake.map((r) => ({ ...r, f: r.f === null || Number.isNaN(Number(r.f)) ? r.f : String(Number(r.f)) }))).toEqual(truth);
    const wh = (await target.query(`SELECT * FROM wh.docs ORDER BY id`)).rows.map((r) => ({ id: Number(r.id), f: valueOf(r), g: (r.doc__g as string | null) ?? null }));
    expect(wh).toEqual(truth);
  }, 120_000);
});
