import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() && e.name !== "node_modules" ? testFiles(join(dir, e.name)) : Promise.resolve(e.name.endsWith(".test.ts") ? [join(dir, e.name)] : []))),
  );
  return nested.flat();
}

// Test files run two at a time against one PostgreSQL and one MariaDB server.
// A pipeline's name derives cluster-wide names there: the replication slot
// (`zeroetl_<name>`) and the MariaDB replica server id. Two files with the
// same pipeline name running at once take each other's slot (`belongs to
// another database`) or kick each other's binlog connection off, so every
// CLI test config names its pipeline uniquely.
describe("the suite's CLI pipelines", () => {
  it("have names unique across test files", async () => {
    const files = [...(await testFiles(join(root, "packages"))), ...(await testFiles(join(root, "examples")))];
    const owners = new Map<string, string[]>();
    for (const file of files) {
      const text = await readFile(file, "utf8");
      const names = new Set(Array.from(text.matchAll(/writeConfig\(\{\s*name:\s*"([A-Za-z0-9_]+)"/g), (m) => m[1] ?? ""));
      for (const name of names) owners.set(name, [...(owners.get(name) ?? []), relative(root, file)]);
    }
    expect(owners.size).toBeGreaterThan(50);
    const shared = [...owners].filter(([, where]) => where.length > 1).map(([name, where]) => `${name}: ${where.join(", ")}`);
    expect(shared).toEqual([]);
  });
});
