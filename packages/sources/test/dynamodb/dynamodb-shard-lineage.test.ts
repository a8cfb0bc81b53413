import { describe, expect, it } from "vitest";
import { compareSequenceNumbers, dynamoDbPositionCodec, planShards } from "@zero-etl/sources/dynamodb";
import type { DynamoDbStreamPosition, ShardNode } from "@zero-etl/sources/dynamodb";

// A shard graph in the shape DescribeStream reports after two rounds of splits:
// A splits into B and C; B splits into D and E; C is still open; F is an
// unrelated root whose parent Z was already trimmed from the stream.
const graph: ShardNode[] = [
  { shardId: "shardId-A", endingSequenceNumber: "300000000000000000100" },
  { shardId: "shardId-B", parentShardId: "shardId-A", endingSequenceNumber: "300000000000000000200" },
  { shardId: "shardId-C", parentShardId: "shardId-A" },
  { shardId: "shardId-D", parentShardId: "shardId-B" },
  { shardId: "shardId-E", parentShardId: "shardId-B" },
  { shardId: "shardId-F", parentShardId: "shardId-Z" },
];

const ids = (plan: ReturnType<typeof planShards>) => plan.ready.map((r) => r.shardId);

describe("dynamodb shard lineage", () => {
  it("reads only roots (and orphans of trimmed parents) first, from TRIM_HORIZON", () => {
    const plan = planShards(graph, { shards: {}, closed: [] });
    expect(ids(plan)).toEqual(["shardId-A", "shardId-F"]);
    expect(plan.ready[0]?.start).toEqual({ type: "TRIM_HORIZON" });
    expect(plan.waiting).toEqual(["shardId-B", "shardId-C", "shardId-D", "shardId-E"]);
    expect(plan.lost).toEqual([]);
  });

  it("releases both children of a split once the parent is fully read, never the grandchildren", () => {
    const plan = planShards(graph, { shards: { "shardId-F": "500" }, closed: ["shardId-A"] });
    expect(ids(plan)).toEqual(["shardId-B", "shardId-C", "shardId-F"]);
    expect(plan.ready.find((r) => r.shardId === "shardId-F")?.start).toEqual({ type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: "500" });
    expect(plan.waiting).toEqual(["shardId-D", "shardId-E"]);
  });

  it("walks the whole graph parent-before-child when shards close one by one", () => {
    const closed: string[] = [];
    const order: string[] = [];
    for (let round = 0; round < 10; round++) {
      const plan = planShards(graph, { shards: {}, closed });
      if (plan.ready.length === 0) break;
      // read the first ready shard to its end
      const next = plan.ready[0]?.shardId as string;
      order.push(next);
      closed.push(next);
    }
    expect(order).toHaveLength(6);
    const parentOf = new Map(graph.map((s) => [s.shardId, s.parentShardId]));
    for (const [i, id] of order.entries()) {
      const parent = parentOf.get(id);
      if (parent !== undefined && parentOf.has(parent)) expect(order.indexOf(parent)).toBeLessThan(i);
    }
  });

  it("reports a partly read shard that the stream trimmed as lost, and forgets trimmed closed shards", () => {
    const trimmed = graph.filter((s) => s.shardId !== "shardId-A" && s.shardId !== "shardId-B");
    const plan = planShards(trimmed, { shards: { "shardId-B": "250" }, closed: ["shardId-A"] });
    expect(plan.lost).toEqual(["shardId-B"]);
    expect(plan.forgettable).toEqual(["shardId-A"]);
    // with B fully read before it was trimmed, nothing is lost and its children are ready
    const ok = planShards(trimmed, { shards: {}, closed: ["shardId-A", "shardId-B"] });
    expect(ok.lost).toEqual([]);
    expect(ids(ok)).toEqual(["shardId-C", "shardId-D", "shardId-E", "shardId-F"]);
  });
});

describe("dynamodb stream position codec", () => {
  const p = (shards: Record<string, string>, closed: string[] = [], extra: Partial<DynamoDbStreamPosition> = {}): DynamoDbStreamPosition => ({
    streamArn: "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x",
    shards,
    closed,
    ...extra,
  });

  it("round-trips and parses compact event positions", () => {
    const pos = p({ "shardId-B": "000000000000000000042", "shardId-A": "7" }, ["shardId-Z"], { caughtUpAt: 5 });
    const text = dynamoDbPositionCodec.serialize(pos);
    expect(dynamoDbPositionCodec.parse(text)).toEqual(pos);
    expect(dynamoDbPositionCodec.serialize(dynamoDbPositionCodec.parse(text))).toBe(text);
    expect(dynamoDbPositionCodec.parse("shardId-1/123")).toEqual({ streamArn: "", shards: { "shardId-1": "123" }, closed: [] });
    expect(() => dynamoDbPositionCodec.parse("{\"v\":2}")).toThrow(/invalid dynamodb stream position/);
    expect(() => dynamoDbPositionCodec.parse("nonsense")).toThrow(/invalid dynamodb stream position/);
  });

  it("orders positions per shard, with closed shards beyond any sequence number", () => {
    const c = dynamoDbPositionCodec.compare;
    expect(compareSequenceNumbers("99", "100")).toBeLessThan(0);
    expect(c(p({ a: "100" }), p({ a: "99" }))).toBeGreaterThan(0);
    expect(c(p({ a: "99" }), p({ a: "100" }))).toBeLessThan(0);
    expect(c(p({ a: "5" }), p({}, ["a"]))).toBeLessThan(0);
    expect(c(p({ a: "5", b: "1" }), p({ a: "5" }))).toBeGreaterThan(0);
    expect(c(p({ a: "5" }), p({ a: "5" }))).toBe(0);
  });

  it("compares a caught-up checkpoint with a currentPosition marker by time", () => {
    const c = dynamoDbPositionCodec.compare;
    expect(c(p({ a: "5" }, [], { caughtUpAt: 2000 }), p({}, [], { latestAt: 1000 }))).toBeGreaterThan(0);
    expect(c(p({ a: "5" }, [], { caughtUpAt: 500 }), p({}, [], { latestAt: 1000 }))).toBeLessThan(0);
    expect(c(p({ a: "5" }), p({}, [], { latestAt: 1000 }))).toBeLessThan(0);
  });
});
