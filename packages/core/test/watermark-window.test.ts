import { describe, expect, it } from "vitest";
import type { ChangeEvent, Row } from "../src/index.js";
import { WatermarkWindow, decodeMarker, encodeMarker, rowKey } from "../src/index.js";

const table = { namespace: "public", name: "t" };
const insert = (id: number | bigint, v = "x"): ChangeEvent => ({ op: "insert", table, after: { id, v }, position: "0/1" });
const update = (from: number, to: number): ChangeEvent => ({ op: "update", table, key: { id: from }, after: { id: to, v: "u" }, position: "0/1" });
const remove = (id: number): ChangeEvent => ({ op: "delete", table, key: { id }, position: "0/1" });
const rows = (...ids: number[]): Row[] => ids.map((id) => ({ id, v: `r${id}` }));
const ids = (out: readonly Row[] | undefined): unknown[] | undefined => out?.map((r) => r["id"]);

describe("WatermarkWindow", () => {
  it("emits every row of a chunk when nothing changed inside the window", () => {
    const window = new WatermarkWindow(["id"]);
    window.open();
    expect(ids(window.close(rows(1, 2, 3)))).toEqual([1, 2, 3]);
  });

  it("drops the rows whose key an insert, update (old and new key) or delete touched inside the window", () => {
    const window = new WatermarkWindow(["id"]);
    window.open();
    window.observe(insert(2));
    window.observe(update(4, 9));
    window.observe(remove(6));
    expect(ids(window.close(rows(1, 2, 3, 4, 5, 6, 7, 9)))).toEqual([1, 3, 5, 7]);
    expect(window.touched).toBe(4);
  });

  it("ignores changes before the low watermark", () => {
    const window = new WatermarkWindow(["id"]);
    window.observe(insert(1));
    window.open();
    window.observe(insert(2));
    expect(ids(window.close(rows(1, 2)))).toEqual([1]);
  });

  it("asks for the chunk again when the low watermark was not met, or a truncate or schema change came inside the window", () => {
    expect(new WatermarkWindow(["id"]).close(rows(1))).toBeUndefined();
    const truncated = new WatermarkWindow(["id"]);
    truncated.open();
    truncated.observe({ op: "truncate", table, position: "0/1" });
    expect(truncated.close(rows(1))).toBeUndefined();
    const altered = new WatermarkWindow(["id"]);
    altered.open();
    altered.observe({ op: "schema", table, position: "0/1", schema: { table, columns: [], primaryKey: ["id"], version: 2 } });
    expect(altered.close(rows(1))).toBeUndefined();
  });

  it("compares composite keys column by column, and a number and a bigint of the same integer as equal", () => {
    const window = new WatermarkWindow(["a", "b"]);
    window.open();
    window.observe({ op: "delete", table, key: { a: 1n, b: "x" }, position: "0/1" });
    const chunk: Row[] = [
      { a: 1, b: "x", v: 1 },
      { a: 1, b: "y", v: 2 },
      { a: 2, b: "x", v: 3 },
    ];
    expect(window.close(chunk)?.map((r) => r["v"])).toEqual([2, 3]);
    expect(rowKey({ a: "1", b: "x" }, ["a", "b"])).not.toBe(rowKey({ a: 1, b: "x" }, ["a", "b"]));
    expect(rowKey({ a: "x\u0001\"y", b: "" }, ["a", "b"])).not.toBe(rowKey({ a: "x", b: "y" }, ["a", "b"]));
  });
});

describe("WatermarkWindow and updates without some values", () => {
  it("asks for the chunk again when an update of one of its rows lacked values (unchanged TOAST), not when it was of another row", () => {
    const partial = (id: number): ChangeEvent => ({ op: "update", table, key: { id }, after: { id, v: "u" }, unchanged: ["body"], position: "0/1" });
    const inChunk = new WatermarkWindow(["id"]);
    inChunk.open();
    inChunk.observe(partial(2));
    expect(inChunk.close(rows(1, 2, 3))).toBeUndefined();
    const elsewhere = new WatermarkWindow(["id"]);
    elsewhere.open();
    elsewhere.observe(partial(9));
    expect(ids(elsewhere.close(rows(1, 2, 3)))).toEqual([1, 2, 3]);
  });
});

describe("stream markers", () => {
  const key = new Uint8Array(32).fill(7);
  const otherKey = new Uint8Array(32).fill(8);

  it("round-trip for their pipeline and are ignored for another or for foreign text", () => {
    const low = encodeMarker({ pipeline: "p", kind: "low", id: "a1" }, key);
    expect(decodeMarker(low, "p", key)).toEqual({ verified: true, content: { pipeline: "p", kind: "low", id: "a1" } });
    expect(decodeMarker(low, "q", key)).toBeUndefined();
    expect(decodeMarker("not json", "p", key)).toBeUndefined();
    expect(decodeMarker(encodeMarker({ pipeline: "p", kind: "resync", tables: ["public.t"] }, key), "p", key)).toEqual({ verified: true, content: { pipeline: "p", kind: "resync", tables: ["public.t"] } });
  });

  it("are not verified without the key: unsigned, signed with another key, or altered after signing", () => {
    expect(decodeMarker(JSON.stringify({ pipeline: "p", kind: "resync", tables: ["public.t"] }), "p", key)).toEqual({ verified: false, kind: "resync" });
    const signed = encodeMarker({ pipeline: "p", kind: "resync", tables: ["public.t"] }, key);
    expect(decodeMarker(signed, "p", otherKey)).toEqual({ verified: false, kind: "resync" });
    expect(decodeMarker(signed.replace("public.t", "public.u"), "p", key)).toEqual({ verified: false, kind: "resync" });
    const high = encodeMarker({ pipeline: "p", kind: "high", id: "a1h" }, key);
    expect(decodeMarker(high.replace('"mac":"', '"mac":"0').slice(0, -3) + '"}', "p", key)).toEqual({ verified: false, kind: "high" });
    expect(decodeMarker(JSON.stringify({ pipeline: "p", kind: "high", id: "a1h", mac: "0".repeat(64) }), "p", key)).toEqual({ verified: false, kind: "high" });
    // the MAC is the last field: nothing may follow it
    expect(decodeMarker(`${signed.slice(0, -1)},"x":1}`, "p", key)).toEqual({ verified: false, kind: "resync" });
  });
});
