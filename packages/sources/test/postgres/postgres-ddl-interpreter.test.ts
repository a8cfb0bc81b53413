import { describe, expect, it } from "vitest";
import { ZeroEtlError } from "@zero-etl/core";
import { interpretDdlMessage, parseDdlMessage } from "../../src/postgres/postgres-ddl-interpreter.js";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const col = (n: number, name: string, extra: { dropped?: boolean; missing?: boolean } = {}) => ({ n, name, dropped: extra.dropped ?? false, missing: extra.missing ?? false });
const alter = (tag: string, now: { schema: string; name: string; columns: unknown[] }, before: { schema: string; name: string; columns: unknown[] } | null) =>
  parseDdlMessage(encode({ v: 1, op: "alter", tag, oid: "42", ...now, before }));
const publicOnly = (ref: { namespace: string }) => ref.namespace === "public";

describe("interpretDdlMessage", () => {
  const base = [col(1, "id"), col(2, "v")];

  it("needs nothing for a plain column addition, a drop or a widening", () => {
    expect(interpretDdlMessage(alter("ALTER TABLE", { schema: "public", name: "t", columns: [...base, col(3, "n")] }, { schema: "public", name: "t", columns: base }), "0/1", publicOnly)).toEqual([]);
    expect(interpretDdlMessage(alter("ALTER TABLE", { schema: "public", name: "t", columns: [col(1, "id"), col(2, "v", { dropped: true })] }, { schema: "public", name: "t", columns: base }), "0/1", publicOnly)).toEqual([]);
  });

  it("re-reads a table whose key columns changed, not for a renamed key column or state recorded without keys", () => {
    const keyed = (id: boolean, v: boolean) => [{ ...col(1, "id"), key: id }, { ...col(2, "v"), key: v }];
    const t = (columns: unknown[]) => ({ schema: "public", name: "t", columns });
    expect(interpretDdlMessage(alter("ALTER TABLE", t(keyed(false, true)), t(keyed(true, false))), "0/1", publicOnly)).toEqual([
      { kind: "refresh", table: { namespace: "public", name: "t" }, position: "0/1", reason: "key changed from (id) to (v) (replica identity or primary key)" },
    ]);
    const renamedKey = [{ ...col(1, "pk"), key: true }, { ...col(2, "v"), key: false }];
    expect(interpretDdlMessage(alter("ALTER TABLE", t(renamedKey), t(keyed(true, false))), "0/1", publicOnly)).toEqual([
      { kind: "columns-renamed", table: { namespace: "public", name: "t" }, position: "0/1", renamed: { pk: "id" } },
    ]);
    expect(interpretDdlMessage(alter("ALTER TABLE", t(keyed(false, true)), t(base)), "0/1", publicOnly)).toEqual([]);
    // losing the key entirely (or gaining one) is left to the publication guard
    expect(interpretDdlMessage(alter("ALTER TABLE", t(keyed(false, false)), t(keyed(true, false))), "0/1", publicOnly)).toEqual([]);
  });

  it("re-reads a table for a default existing rows take, a column added again", () => {
    const withDefault = alter("ALTER TABLE", { schema: "public", name: "t", columns: [...base, col(3, "x", { missing: true })] }, { schema: "public", name: "t", columns: base });
    expect(interpretDdlMessage(withDefault, "0/2", publicOnly)).toEqual([
      { kind: "refresh", table: { namespace: "public", name: "t" }, position: "0/2", reason: "column x added with a default the existing rows take" },
    ]);
    const readded = alter("ALTER TABLE", { schema: "public", name: "t", columns: [col(1, "id"), col(2, "v", { dropped: true }), col(3, "v")] }, { schema: "public", name: "t", columns: [col(1, "id"), col(2, "v", { dropped: true })] });
    expect(interpretDdlMessage(readded, "0/3", publicOnly)[0]).toMatchObject({ kind: "refresh", reason: "column v dropped and added again" });
    // an earlier default on an untouched column is not a reason again
    const later = alter("ALTER TABLE", { schema: "public", name: "t", columns: [...base, col(3, "x", { missing: true }), col(4, "y")] }, { schema: "public", name: "t", columns: [...base, col(3, "x", { missing: true })] });
    expect(interpretDdlMessage(later, "0/5", publicOnly)).toEqual([]);
  });

  it("turns a pure column rename into a rename; one onto a name the table had is re-read", () => {
    const renamed = alter("ALTER TABLE", { schema: "public", name: "t", columns: [col(1, "id"), col(2, "w")] }, { schema: "public", name: "t", columns: base });
    expect(interpretDdlMessage(renamed, "0/4", publicOnly)).toEqual([{ kind: "columns-renamed", table: { namespace: "public", name: "t" }, position: "0/4", renamed: { w: "v" } }]);
    expect(interpretDdlMessage(renamed, "0/4", () => false)).toEqual([]);
    // onto the name of a dropped column, which the target still keeps with its old values
    const ontoDropped = alter("ALTER TABLE", { schema: "public", name: "t", columns: [col(1, "id"), col(2, "w"), col(3, "w", { dropped: true })] }, { schema: "public", name: "t", columns: [col(1, "id"), col(2, "v"), col(3, "w", { dropped: true })] });
    expect(interpretDdlMessage(ontoDropped, "0/4", publicOnly)[0]).toMatchObject({ kind: "refresh", reason: "column v renamed to w, a name the table had; column v renamed to w" });
    // a rename beside another change that needs a re-read
    const mixed = alter("ALTER TABLE", { schema: "public", name: "t", columns: [col(1, "id"), col(2, "w"), col(3, "x", { missing: true })] }, { schema: "public", name: "t", columns: base });
    expect(interpretDdlMessage(mixed, "0/4", publicOnly)[0]).toMatchObject({ kind: "refresh", reason: "column x added with a default the existing rows take; column v renamed to w" });
  });

  it("turns renames and moves into dropped + refresh, each only where the filter selects the name", () => {
    const moved = alter("ALTER TABLE", { schema: "o", name: "a", columns: base }, { schema: "public", name: "a", columns: base });
    expect(interpretDdlMessage(moved, "0/6", publicOnly)).toEqual([{ kind: "dropped", table: { namespace: "public", name: "a" }, position: "0/6", reason: "renamed to o.a" }]);
    const back = alter("ALTER TABLE", { schema: "public", name: "a", columns: base }, { schema: "o", name: "a", columns: base });
    expect(interpretDdlMessage(back, "0/7", publicOnly)).toEqual([{ kind: "refresh", table: { namespace: "public", name: "a" }, position: "0/7", reason: "renamed from o.a" }]);
    const renamed = alter("ALTER TABLE", { schema: "public", name: "t2", columns: base }, { schema: "public", name: "t", columns: base });
    expect(interpretDdlMessage(renamed, "0/8", publicOnly).map((c) => c.kind)).toEqual(["dropped", "refresh"]);
  });

  it("re-reads created tables and tables without recorded state; drops and rewrites follow the filter", () => {
    expect(interpretDdlMessage(alter("CREATE TABLE", { schema: "public", name: "b", columns: base }, null), "0/9", publicOnly)[0]).toMatchObject({ kind: "refresh", reason: "table created" });
    expect(interpretDdlMessage(alter("CREATE TABLE", { schema: "x", name: "b", columns: base }, null), "0/9", publicOnly)).toEqual([]);
    expect(interpretDdlMessage(alter("ALTER TABLE", { schema: "public", name: "b", columns: base }, null), "0/9", publicOnly)[0]).toMatchObject({ kind: "refresh" });
    expect(interpretDdlMessage(parseDdlMessage(encode({ v: 1, op: "drop", oid: 1, schema: "public", name: "d" })), "0/a", publicOnly)).toEqual([
      { kind: "dropped", table: { namespace: "public", name: "d" }, position: "0/a", reason: "table dropped" },
    ]);
    expect(interpretDdlMessage(parseDdlMessage(encode({ v: 1, op: "rewrite", oid: 1, schema: "x", name: "d" })), "0/a", publicOnly)).toEqual([]);
  });

  it("refuses malformed messages with source-failed", () => {
    expect(() => parseDdlMessage(new TextEncoder().encode("{"))).toThrow(ZeroEtlError);
    expect(() => parseDdlMessage(encode({ v: 2, op: "drop" }))).toThrow(/unknown version/);
    expect(() => parseDdlMessage(encode({ v: 1, op: "drop", oid: 1, schema: 3 }))).toThrow(/table name/);
  });
});
