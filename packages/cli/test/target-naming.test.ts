import { ConfigError, type TableSchema } from "@zero-etl/core";
import { describe, expect, it } from "vitest";
import { assertDistinctTargetNames, resolveTargetNaming } from "../src/config/target-naming.js";

const schema = (namespace: string, name: string): TableSchema => ({ table: { namespace, name }, columns: [], primaryKey: [], version: 1 });

describe("target naming", () => {
  it("keeps table names unless the include patterns name several schemas literally", () => {
    const pg = { supportsQualifiedNames: true, targetType: "postgres" };
    expect(resolveTargetNaming({ ...pg }).naming).toBe("table");
    expect(resolveTargetNaming({ ...pg, includeNamespaces: ["public", "public"] }).naming).toBe("table");
    expect(resolveTargetNaming({ ...pg, includeNamespaces: [undefined] }).naming).toBe("table");
    const two = resolveTargetNaming({ ...pg, includeNamespaces: ["s1", "s2"] });
    expect(two.naming).toBe("schema_table");
    expect(two.tableName({ namespace: "s1", name: "t" })).toBe("s1_t");
    expect(resolveTargetNaming({ ...pg, configured: "table", includeNamespaces: ["s1", "s2"] }).naming).toBe("table");
    expect(resolveTargetNaming({ ...pg, configured: "schema_table" }).tableName({ namespace: "public", name: "t" })).toBe("public_t");
  });

  it("never qualifies names for a target that cannot, and says so when asked to", () => {
    expect(resolveTargetNaming({ supportsQualifiedNames: false, targetType: "iceberg", includeNamespaces: ["s1", "s2"] }).naming).toBe("table");
    expect(() => resolveTargetNaming({ supportsQualifiedNames: false, targetType: "iceberg", configured: "schema_table" })).toThrow(/mapping\.tableNames: expected "table" \(the iceberg target names tables by the source table name\)/);
  });

  it("refuses two source tables that land in one target table, naming both", () => {
    const table = resolveTargetNaming({ supportsQualifiedNames: true, targetType: "postgres" });
    expect(() => assertDistinctTargetNames([schema("s1", "t"), schema("s2", "u")], table)).not.toThrow();
    expect(() => assertDistinctTargetNames([schema("s1", "t"), schema("s2", "t")], table)).toThrow(ConfigError);
    expect(() => assertDistinctTargetNames([schema("s1", "t"), schema("s2", "t")], table)).toThrow(/s1\.t and s2\.t would both land in target table t/);
    const qualified = resolveTargetNaming({ supportsQualifiedNames: true, targetType: "postgres", configured: "schema_table" });
    expect(() => assertDistinctTargetNames([schema("s1", "t"), schema("s2", "t")], qualified)).not.toThrow();
    expect(() => assertDistinctTargetNames([schema("s1", "a_b"), schema("s1_a", "b")], qualified)).toThrow(/s1\.a_b and s1_a\.b would both land in target table s1_a_b/);
  });
});
