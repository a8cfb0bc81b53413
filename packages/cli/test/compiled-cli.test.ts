import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeConfig } from "../../../test-support/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

function node(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("exit", (code) => done({ code, stdout, stderr }));
  });
}

// `pnpm zeroetl` and the benchmarks run the esbuild bundle of scripts/build-cli.mjs:
// built fresh here (never the checkout's own, which may be stale), it must run a pipeline
describe("the compiled zeroetl (scripts/build-cli.mjs)", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let outdir: string;

  beforeAll(async () => {
    source = await createTestDatabase("cli_bundle_src");
    target = await createTestDatabase("cli_bundle_dst");
    outdir = await mkdtemp(join(tmpdir(), "zetl-bundle-"));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
  });

  it("builds, leaves the connectors a config does not name in chunks of their own, and copies a PostgreSQL table", async () => {
    const built = await node([join(root, "scripts/build-cli.mjs"), "--quiet", "--outdir", outdir]);
    expect(built.code, built.stderr).toBe(0);
    const files = await readdir(outdir);
    expect(files).toContain("zeroetl.js");
    expect(files.some((f) => f.startsWith("dynamodb-") && f.endsWith(".js"))).toBe(true);

    await source.query(`
      CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), at timestamptz);
      INSERT INTO items SELECT g, 'item ' || g, g / 3.0, '2026-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 500) g;`);
    const { file } = await writeConfig({
      name: "cli_bundle",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    });
    const first = await node([join(outdir, "zeroetl.js"), "run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query("UPDATE items SET name = 'renamed' WHERE id <= 10; DELETE FROM items WHERE id > 490");
    const second = await node([join(outdir, "zeroetl.js"), "run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const digest = "SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY id)) AS h FROM {t} t";
    const [expected] = (await source.query<{ n: number; h: string }>(digest.replace("{t}", "public.items"))).rows;
    const [actual] = (await target.query<{ n: number; h: string }>(digest.replace("{t}", "dw.items"))).rows;
    expect(expected?.n).toBe(490);
    expect(actual).toEqual(expected);
  }, 120_000);
});
