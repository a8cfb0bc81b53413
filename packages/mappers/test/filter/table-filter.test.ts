import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "@zero-etl/core";
import { parseTableFilter } from "@zero-etl/mappers";

const ref = (namespace: string, name: string, database?: string) => (database === undefined ? { namespace, name } : { namespace, name, database });

describe("parseTableFilter", () => {
  it("includes everything without include patterns and lets exclude win", () => {
    const all = parseTableFilter({});
    expect(all.matchesTable(ref("shop", "orders"))).toBe(true);
    const filter = parseTableFilter({ include: ["shop.*", "*.audit"], exclude: ["shop.tmp_*", "*.audit"] });
    expect(filter.matchesTable(ref("shop", "orders"))).toBe(true);
    expect(filter.matchesTable(ref("shop", "tmp_1"))).toBe(false);
    expect(filter.matchesTable(ref("crm", "audit"))).toBe(false);
    expect(filter.matchesTable(ref("crm", "users"))).toBe(false);
  });

  it("supports ? wildcards, quoted identifiers with dots and three-part PostgreSQL patterns", () => {
    const filter = parseTableFilter({ include: ['"my.db"."a.b"', "app.log_??", "prod.public.*"], database: "prod" });
    expect(filter.matchesTable(ref("my.db", "a.b"))).toBe(true);
    expect(filter.matchesTable(ref("my", "db"))).toBe(false);
    expect(filter.matchesTable(ref("app", "log_01"))).toBe(true);
    expect(filter.matchesTable(ref("app", "log_1"))).toBe(false);
    expect(filter.matchesTable(ref("public", "orders"))).toBe(true);
    expect(filter.matchesTable(ref("public", "orders", "staging"))).toBe(false);
    expect(parseTableFilter({ include: ['"we""ird".t'] }).matchesTable(ref('we"ird', "t"))).toBe(true);
    expect(parseTableFilter({ include: ["db.t+(x)"] }).matchesTable(ref("db", "t+(x)"))).toBe(true);
  });

  it("rejects bad patterns naming the pattern's index", () => {
    const bad = (include: string[], exclude: string[] = []) => {
      try {
        parseTableFilter({ include, exclude });
      } catch (error) {
        return error instanceof ConfigError ? error.path : "not a ConfigError";
      }
      return "no error";
    };
    expect(bad(["a.b", "orders"])).toBe("filter.include[1]");
    expect(bad(["a.b"], ["a..b"])).toBe("filter.exclude[0]");
    expect(bad(['"open.b'])).toBe("filter.include[0]");
    expect(bad([`a.${"x".repeat(300)}`])).toBe("filter.include[0]");
    expect(bad(["a.b.c.d"])).toBe("filter.include[0]");
    expect(bad(Array.from({ length: 100 }, (_, i) => `db.t${i}`))).toBe("filter");
    expect(bad(Array.from({ length: 99 }, (_, i) => `db.t${i}`))).toBe("no error");
  });

  it("property: decisions do not depend on the order of tables or of patterns", () => {
    const part = fc.constantFrom("shop", "crm", "orders", "audit", "tmp_1", "log_01", "a.b");
    const pattern = fc.tuple(fc.constantFrom("shop", "crm", "*", "s*", '"a.b"', "?rm"), fc.constantFrom("orders", "*", "tmp_*", "log_??", "audit")).map(([a, b]) => `${a}.${b}`);
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 5 }), fc.array(pattern, { maxLength: 5 }), fc.array(fc.tuple(part, part), { maxLength: 12 }), (include, exclude, tables) => {
        const filter = parseTableFilter({ include, exclude });
        const shuffled = parseTableFilter({ include: [...include].reverse(), exclude: [...exclude].reverse() });
        const forward = tables.map(([n, t]) => filter.matchesTable(ref(n, t)));
        const backward = [...tables].reverse().map(([n, t]) => shuffled.matchesTable(ref(n, t))).reverse();
        expect(backward).toEqual(forward);
        const excludedOnly = parseTableFilter({ exclude });
        tables.forEach(([n, t], i) => {
          if (!excludedOnly.matchesTable(ref(n, t))) expect(forward[i]).toBe(false);
          if (include.length === 0) expect(forward[i]).toBe(excludedOnly.matchesTable(ref(n, t)));
        });
      }),
      { numRuns: 200 },
    );
  });
});
