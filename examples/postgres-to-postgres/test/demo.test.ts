import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

// The README's first command runs this program; keep it working.
describe("the postgres-to-postgres demo", () => {
  it("replicates the shop, applies live changes, and ends with equal row counts", () => {
    const result = spawnSync(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(root, "examples/postgres-to-postgres/src/demo.ts")], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, ZETL_DEMO_ORDERS: "2000" },
      timeout: 120_000,
    });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/snapshot of [\d,]+ rows visible in the warehouse/);
    for (const change of ["insert", "update", "delete", "add column"]) expect(result.stdout).toMatch(new RegExp(`^  ${change}\\s+\\d+\\.\\d+ s$`, "m"));
    for (const table of ["customers", "products", "orders", "order_items"]) expect(result.stdout).toMatch(new RegExp(`^  ${table}\\s+source\\s+\\d+\\s+warehouse\\s+\\d+\\s+equal$`, "m"));
    expect(result.stdout).not.toMatch(/DIFFERENT/);
  });
});
