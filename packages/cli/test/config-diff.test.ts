import { describe, expect, it } from "vitest";
import { changedFields } from "../src/config/config-diff.js";

describe("changedFields", () => {
  it("names the changed fields two levels deep, sections added or removed by their fields, never values", () => {
    const before = { name: "p", source: { type: "postgres", url: "postgres://u:secret@h/db" }, filter: { include: ["public.a"] } };
    const after = { name: "p", source: { type: "postgres", url: "postgres://u:other@h/db" }, filter: { include: ["public.a", "public.b"] }, batch: { maxRows: 5 } };
    const fields = changedFields(before, after);
    expect(fields).toEqual(["batch.maxRows", "filter.include", "source.url"]);
    expect(fields.join(" ")).not.toMatch(/secret|other/);
    expect(changedFields(after, before)).toEqual(["batch.maxRows", "filter.include", "source.url"]);
  });

  it("is empty for equal configs, whatever the key order; arrays compare whole and in order", () => {
    expect(changedFields({ a: { x: [1, 2], y: { z: 1 } }, b: 1 }, { b: 1, a: { y: { z: 1 }, x: [1, 2] } })).toEqual([]);
    expect(changedFields({ filter: { include: ["a", "b"] } }, { filter: { include: ["b", "a"] } })).toEqual(["filter.include"]);
    expect(changedFields({ target: { auth: { user: "u" } } }, { target: { auth: { user: "v" } } })).toEqual(["target.auth"]);
  });
});
