import pg from "pg";
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CI_SEEDS } from "../../../../fidelity/src/ci-seeds.js";
import { runSeed } from "../../../../fidelity/src/fidelity-harness.js";
import { pgToPgDriver } from "../../../../fidelity/src/pg-to-pg-driver.js";

// The differential fidelity fuzzer, PostgreSQL -> PostgreSQL: random tables,
// DML and DDL of the gates CI enables, through the real CLI with restarts and
// a kill -9, then source and target compared cell by cell with plain SQL.
describe("fidelity fuzzer: PostgreSQL -> PostgreSQL", () => {
  for (const seed of CI_SEEDS["pg-pg"]) {
    it(`seed ${seed}: the target equals the source`, async () => {
      const result = await runSeed({ driver: pgToPgDriver, seed });
      expect(result.failure?.report).toBeUndefined();
      expect(result.events).toBeGreaterThan(0);
    }, 180_000);
  }

  it("fails a seed whose target was tampered with, naming the row and writing a reproduction", async () => {
    const result = await runSeed({
      driver: pgToPgDriver,
      // a seed whose tables land under their own names (no second schema: dw.sv_streamed)
      seed: 157,
      beforeCompare: async (config) => {
        const client = new pg.Client({ connectionString: (config.target as { url: string }).url });
        await client.connect();
        await client.query(`DELETE FROM dw.sv_streamed WHERE ctid = (SELECT min(ctid) FROM dw.sv_streamed)`);
        await client.end();
      },
    });
    expect(result.failure?.phase).toBe("compare");
    expect(result.failure?.differences).toContainEqual(expect.objectContaining({ table: "sv_streamed", column: "*", source: "row", target: "no such row" }));
    expect(result.failure?.report).toMatch(/pair pg-pg, seed 157, failed in compare/);
    const repro = await readFile(result.failure?.reproFile ?? "", "utf8");
    expect(repro).toContain(`CREATE TABLE "public"."sv_streamed"`);
    expect(repro).toContain("zeroetl run --until-caught-up");
  }, 180_000);
});
