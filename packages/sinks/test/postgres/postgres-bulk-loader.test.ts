import { describe, expect, it } from "vitest";
import { acceptsBinaryCopy } from "../../src/postgres/postgres-bulk-loader.js";
import type { TargetTable } from "../../src/postgres/postgres-table-syncer.js";

const target = {
  name: { schema: "dw", table: "t" },
  columns: ["id", "label", "tags"],
  types: new Map(),
  baseTypes: new Map([
    ["id", "bigint"],
    ["label", "character varying"],
    ["tags", "text[]"],
  ]),
  primaryKey: ["id"],
  encoders: new Map(),
} as unknown as TargetTable;

describe("acceptsBinaryCopy", () => {
  it("accepts built-in types that are the same on both sides, modifiers aside", () => {
    expect(
      acceptsBinaryCopy(target, [
        { name: "id", typeOid: 20, typeName: "bigint" },
        { name: "label", typeOid: 1043, typeName: "character varying" },
        { name: "tags", typeOid: 1009, typeName: "text[]" },
      ]),
    ).toBe(true);
  });

  it("refuses another type, a user-defined type, a column the target does not write, and no columns", () => {
    expect(acceptsBinaryCopy(target, [{ name: "id", typeOid: 23, typeName: "integer" }])).toBe(false);
    // an enum's binary form is its label, but an array of it names the source's OID: never passed through
    expect(acceptsBinaryCopy(target, [{ name: "label", typeOid: 16_390, typeName: "character varying" }])).toBe(false);
    expect(acceptsBinaryCopy(target, [{ name: "missing", typeOid: 25, typeName: "text" }])).toBe(false);
    expect(acceptsBinaryCopy(target, [])).toBe(false);
  });
});
