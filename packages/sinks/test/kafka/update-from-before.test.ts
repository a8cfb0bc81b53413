import { describe, expect, it } from "vitest";
import { completeFromBefore } from "../../src/kafka/update-from-before.js";

// pg-kafka-pg seed 25: under REPLICA IDENTITY FULL a key-changing update beside an unchanged TOAST
// value went to Kafka as a create under the new key with the value left out, and the worker wrote NULL.
describe("completeFromBefore", () => {
  it("takes the columns an update left out from its old row", () => {
    const result = completeFromBefore({ id: 2, body: null, n: 5 }, ["body"], { id: 1, body: "long text", n: 4 });
    expect(result).toEqual({ after: { id: 2, body: "long text", n: 5 }, unchanged: undefined });
  });

  it("keeps listing what the old row does not carry either", () => {
    const result = completeFromBefore({ id: 2, a: null, b: null }, ["a", "b"], { id: 1, a: "x" });
    expect(result).toEqual({ after: { id: 2, a: "x", b: null }, unchanged: ["b"] });
  });

  it("leaves an update without an old row or without left-out columns as it is", () => {
    const after = { id: 2, body: null };
    expect(completeFromBefore(after, ["body"], undefined)).toEqual({ after, unchanged: ["body"] });
    expect(completeFromBefore(after, [], { id: 1, body: "x" })).toEqual({ after, unchanged: undefined });
    expect(completeFromBefore(after, undefined, { id: 1, body: "x" }).after).toBe(after);
  });
});
