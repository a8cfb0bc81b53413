import { describe, expect, it } from "vitest";
import type { ChangeEvent } from "@zero-etl/core";
import { compareSequenceNumbers, createDynamoDbTableModel, dynamoDbPositionCodec, planShards, readDynamoDbStream } from "@zero-etl/sources/dynamodb";
import type { DynamoDbStreamPosition, DynamoDbStreamsApi, ShardNode } from "@zero-etl/sources/dynamodb";

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

describe("dynamodb stream reader over a recorded stream with splits", () => {
  // A replay of a recorded stream: DescribeStream pages of two shards, records per
  // shard, iterators that walk them in pages of two; closed shards end with a null iterator.
  const arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-20T00:00:00.000";
  const rec = (seq: string, pk: string, v: string) => ({
    eventName: seq.endsWith("1") && v === "0" ? "INSERT" : "MODIFY",
    dynamodb: {
      SequenceNumber: seq,
      Keys: { pk: { S: pk } },
      NewImage: { pk: { S: pk }, v: { N: v } },
      OldImage: { pk: { S: pk }, v: { N: String(Number(v) - 1) } },
      ApproximateCreationDateTime: new Date(1_763_600_000_000 + Number(seq.slice(-3)) * 1000),
    },
  });
  const recorded: Record<string, { parent?: string; closed: boolean; records: ReturnType<typeof rec>[] }> = {
    "shardId-0001": { closed: true, records: [rec("100000000000000000101", "k1", "0"), rec("100000000000000000102", "k2", "0"), rec("100000000000000000103", "k1", "1")] },
    "shardId-0002": { parent: "shardId-0001", closed: true, records: [rec("200000000000000000201", "k1", "2")] },
    "shardId-0003": { parent: "shardId-0001", closed: false, records: [rec("300000000000000000301", "k2", "1"), rec("300000000000000000302", "k2", "2")] },
    "shardId-0004": { parent: "shardId-0002", closed: false, records: [rec("400000000000000000401", "k1", "3"), rec("400000000000000000402", "k1", "4"), rec("400000000000000000403", "k1", "5")] },
  };
  const ids = Object.keys(recorded);
  const api = {
    calls: { describe: 0 },
    async describeStream(input: { ExclusiveStartShardId?: string }) {
      this.calls.describe++;
      const from = input.ExclusiveStartShardId === undefined ? 0 : ids.indexOf(input.ExclusiveStartShardId) + 1;
      const page = ids.slice(from, from + 2);
      return {
        StreamDescription: {
          Shards: page.map((id) => ({
            ShardId: id,
            ...(recorded[id]?.parent === undefined ? {} : { ParentShardId: recorded[id]?.parent }),
            SequenceNumberRange: recorded[id]?.closed ? { EndingSequenceNumber: recorded[id]?.records.at(-1)?.dynamodb.SequenceNumber } : {},
          })),
          ...(from + 2 < ids.length ? { LastEvaluatedShardId: page.at(-1) } : {}),
        },
        $metadata: {},
      };
    },
    async getShardIterator(input: { ShardId?: string; ShardIteratorType?: string; SequenceNumber?: string }) {
      const records = recorded[input.ShardId ?? ""]?.records ?? [];
      const at = input.ShardIteratorType === "TRIM_HORIZON" ? 0 : records.findIndex((r) => r.dynamodb.SequenceNumber === input.SequenceNumber) + 1;
      return { ShardIterator: `${input.ShardId}@${at}`, $metadata: {} };
    },
    async getRecords(input: { ShardIterator?: string }) {
      const [id, atText] = (input.ShardIterator ?? "").split("@");
      const shard = recorded[id ?? ""];
      const at = Number(atText);
      const records = shard?.records.slice(at, at + 2) ?? [];
      const end = at + records.length;
      const next = shard?.closed === true && end >= shard.records.length ? null : `${id}@${end}`;
      return { Records: records, NextShardIterator: next, $metadata: {} };
    },
  };
  const model = createDynamoDbTableModel({ namespace: "us-east-1", table: "orders", partitionKey: { name: "pk", type: "S" } });

  async function readAll(from: DynamoDbStreamPosition) {
    const events: ChangeEvent[] = [];
    const checkpoints: string[] = [];
    const ac = new AbortController();
    for await (const batch of readDynamoDbStream({ api: api as unknown as DynamoDbStreamsApi, model, from, idleDelayMs: 1, signal: ac.signal })) {
      events.push(...batch.events);
      if (batch.checkpoint !== undefined) checkpoints.push(batch.checkpoint);
      if (batch.caughtUp === true) break;
    }
    ac.abort();
    return { events, checkpoints };
  }
  const values = (events: ChangeEvent[], pk: string) =>
    events.filter((e) => e.op !== "schema" && e.op !== "truncate" && e.op !== "delete" && e.after.pk === pk).map((e) => (e.op === "insert" || e.op === "update" ? JSON.parse(String(e.after.item)).v : null));

  it("delivers each key's changes in order across two generations of splits", async () => {
    const { events, checkpoints } = await readAll({ streamArn: arn, shards: {}, closed: [] });
    expect(events).toHaveLength(9);
    expect(values(events, "k1")).toEqual([0, 1, 2, 3, 4, 5]);
    expect(values(events, "k2")).toEqual([0, 1, 2]);
    expect(events[0]?.commitTime).toBe(1_763_600_101_000);
    const last = dynamoDbPositionCodec.parse(checkpoints.at(-1) as string);
    expect(last.closed).toEqual(["shardId-0001", "shardId-0002"]);
    expect(last.shards).toEqual({ "shardId-0003": "300000000000000000302", "shardId-0004": "400000000000000000403" });
    expect(last.caughtUpAt).toBeTypeOf("number");
    expect(api.calls.describe).toBeGreaterThan(1);
  });

  it("resumes from every intermediate checkpoint with nothing lost or doubled", async () => {
    const full = await readAll({ streamArn: arn, shards: {}, closed: [] });
    const all = full.events.map((e) => e.position);
    let seen: string[] = [];
    const stream = readDynamoDbStream({ api: api as unknown as DynamoDbStreamsApi, model, from: { streamArn: arn, shards: {}, closed: [] }, idleDelayMs: 1 });
    for await (const batch of stream) {
      seen = [...seen, ...batch.events.map((e) => e.position)];
      if (batch.caughtUp === true) break;
      const resumed = await readAll(dynamoDbPositionCodec.parse(batch.checkpoint as string));
      const combined = [...seen, ...resumed.events.map((e) => e.position)];
      expect(combined.sort()).toEqual([...all].sort());
    }
  });
});
