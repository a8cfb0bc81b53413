import { describe, expect, it } from "vitest";
import { generateMysqlWorkload } from "../../../../fidelity/src/mysql-workload-generator.js";
import { createRng } from "../../../../fidelity/src/prng.js";

// The MariaDB workload generator's own model of the tables it changes: a
// statement it writes must be valid for the table as its DDL left it.

describe("fidelity generator: MariaDB", () => {
  it("keeps setting the former key columns (NOT NULL, no default) in rows inserted after a primary-key change", () => {
    const on = (f: string) => f === "core" || f === "change-primary-key";
    let checkedInserts = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const w = generateMysqlWorkload({ rng: createRng(seed), on, focus: (f) => f === "change-primary-key" });
      const statements = [...w.setup, ...w.phases.flatMap((p) => p.steps)].flatMap((s) => s.text.split(/;\n/));
      /** Per table, the key columns its CREATE TABLE declared (all NOT NULL, no default). */
      const keyColumns = new Map<string, string[]>();
      const changed = new Set<string>();
      for (const sql of statements) {
        const create = /^CREATE TABLE `([^`]+)` \((.*)\)/s.exec(sql);
        if (create !== null) {
          const columns = [...(create[2] ?? "").matchAll(/`(k\d)` [^`]*? NOT NULL/g)].map((m) => m[1] as string);
          keyColumns.set(create[1] as string, columns);
          continue;
        }
        const alter = /^ALTER TABLE `([^`]+)` DROP PRIMARY KEY/.exec(sql);
        if (alter !== null) changed.add(alter[1] as string);
        const insert = /^INSERT INTO `([^`]+)` \(([^)]*)\)/.exec(sql);
        if (insert === null || !changed.has(insert[1] as string)) continue;
        const listed = new Set([...(insert[2] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
        const formerKey = keyColumns.get(insert[1] as string) ?? [];
        expect(formerKey.length).toBeGreaterThan(1);
        for (const c of formerKey) expect(listed, `seed ${seed}: ${sql.slice(0, 120)}`).toContain(c);
        checkedInserts++;
      }
    }
    // the check above ran on real cases
    expect(checkedInserts).toBeGreaterThan(5);
  });
});
