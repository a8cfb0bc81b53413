import { CreateTableCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { ChangeBatch, Source } from "@zero-etl/core";
import { createDynamoDbSource, createSdkDynamoDbStreamsApi } from "@zero-etl/sources/dynamodb";
import type { DynamoDbStreamsApi } from "@zero-etl/sources/dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal } from "../../../../test-support/dynamodb-local.js";
import type { DynamoDbLocal } from "../../../../test-support/dynamodb-local.js";

// The DynamoDB source's watermarks (incremental snapshots) against DynamoDB Local: a marker is placed by the
// stream reader, after every record committed before it was emitted and before every record committed after its
// emitMarker resolved (what a chunk's window relies on: nothing written after a chunk's read starts may come
// before the chunk's low watermark).
let local: DynamoDbLocal;
let ddb: DynamoDBClient;
const sources: Source[] = [];
const run = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  local = await startDynamoDbLocal();
  ddb = new DynamoDBClient({ endpoint: local.endpoint, region: local.region, credentials: local.credentials });
}, 120_000);

afterAll(async () => {
  for (const s of sources) await s.close();
  ddb?.destroy();
  await local?.stop();
});

async function createTable(name: string, viewType: "NEW_AND_OLD_IMAGES" | "KEYS_ONLY"): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: viewType },
    }),
  );
}

function source(table: string, idleDelayMs: number, extra: { limit?: number; streams?: DynamoDbStreamsApi } = {}): Source {
  const s = createDynamoDbSource({
    table,
    region: local.region,
    endpoint: local.endpoint,
    credentials: local.credentials,
    pipeline: `test-${run}`,
    stream: { idleDelayMs, ...(extra.limit === undefined ? {} : { limit: extra.limit }) },
    ...(extra.streams === undefined ? {} : { clients: { streams: extra.streams } }),
  });
  sources.push(s);
  return s;
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads the stream from the start of a fresh table into `log` (inserted keys, `marker <content>`) until aborted. */
async function collect(s: Source, log: string[], signal: AbortSignal): Promise<void> {
  const session = await s.snapshot({ tables: [] });
  for await (const chunk of session.chunks) void chunk;
  for await (const batch of s.stream(session.position, { signal }) as AsyncIterable<ChangeBatch>) {
    for (const event of batch.events) if (event.op === "insert") log.push(String(event.after.pk));
    for (const marker of batch.markers ?? []) log.push(`marker ${marker.content}`);
  }
}

function expectBracketed(log: readonly string[], marker: string, before: readonly string[], after: readonly string[]): void {
  const at = log.indexOf(`marker ${marker}`);
  expect(at, log.join(", ")).toBeGreaterThanOrEqual(0);
  for (const pk of before) expect(log.indexOf(pk), `${pk} before ${marker}: ${log.join(", ")}`).toBeLessThan(at);
  for (const pk of after) expect(log.indexOf(pk), `${pk} after ${marker}: ${log.join(", ")}`).toBeGreaterThan(at);
}

const put = (table: string, pk: string) => ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, v: { N: "1" } } }));

describe("dynamodb stream markers", () => {
  it("places each marker after the records written before it was emitted and before those written after it resolved", async () => {
    const table = `zetl_marks_${run}`;
    await createTable(table, "NEW_AND_OLD_IMAGES");
    // a long idle pause: a marker placed at once (not after a poll round that drained the stream) would come before
    // the records written just before it, which the sleeping reader has not fetched yet
    const s = source(table, 1000);
    const incremental = s.incremental;
    if (incremental === undefined) throw new Error("the dynamodb source offers incremental snapshots");
    const session = await s.snapshot({ tables: [] });
    for await (const chunk of session.chunks) void chunk;
    const log: string[] = [];
    const controller = new AbortController();
    const reading = (async () => {
      for await (const batch of s.stream(session.position, { signal: controller.signal }) as AsyncIterable<ChangeBatch>) {
        for (const event of batch.events) if (event.op === "insert") log.push(String(event.after.pk));
        for (const marker of batch.markers ?? []) {
          // the marker batch's checkpoint is the position the marker is placed at
          expect(marker.position).toBe(batch.checkpoint);
          log.push(`marker ${marker.content}`);
        }
      }
    })();
    try {
      for (let round = 1; round <= 2; round++) {
        // the reader is idle (its poll found nothing): these records wait in the stream
        await until("the reader to idle", () => log.length >= (round - 1) * 11);
        for (let i = 0; i < 5; i++) await put(table, `before-${round}-${i}`);
        await incremental.emitMarker(`m${round}`, controller.signal);
        // written once emitMarker resolved: after the marker in the stream, whatever the reader does now
        for (let i = 0; i < 5; i++) await put(table, `after-${round}-${i}`);
      }
      await until("every record", () => log.filter((e) => e.startsWith("after-2-")).length === 5);
    } finally {
      controller.abort();
      await reading.catch(() => undefined);
    }
    for (let round = 1; round <= 2; round++) {
      const marker = log.indexOf(`marker m${round}`);
      expect(marker, log.join(", ")).toBeGreaterThanOrEqual(0);
      for (let i = 0; i < 5; i++) {
        expect(log.indexOf(`before-${round}-${i}`), log.join(", ")).toBeLessThan(marker);
        expect(log.indexOf(`after-${round}-${i}`), log.join(", ")).toBeGreaterThan(marker);
      }
    }
  }, 120_000);

  it("does not place a marker after a poll round that was under way when it was emitted", async () => {
    const table = `zetl_marks_held_${run}`;
    await createTable(table, "NEW_AND_OLD_IMAGES");
    // the real DynamoDB Local stream, with a GetRecords answer the test can hold back: a round in flight
    const real = await createSdkDynamoDbStreamsApi({ region: local.region, endpoint: local.endpoint, credentials: local.credentials });
    let hold: { armed: boolean; answered?: () => void; release?: () => void } = { armed: false };
    const streams: DynamoDbStreamsApi = {
      describeStream: (input, signal) => real.describeStream(input, signal),
      getShardIterator: (input, signal) => real.getShardIterator(input, signal),
      async getRecords(input, signal) {
        const out = await real.getRecords(input, signal);
        if (hold.armed) {
          hold.armed = false;
          // answered (from before the writes below), but the round ends only when the test says so
          await new Promise<void>((resolve) => {
            hold.release = resolve;
            hold.answered?.();
          });
        }
        return out;
      },
    };
    const s = source(table, 50, { streams });
    const incremental = s.incremental;
    if (incremental === undefined) throw new Error("the dynamodb source offers incremental snapshots");
    const log: string[] = [];
    const controller = new AbortController();
    const reading = collect(s, log, controller.signal);
    try {
      const answered = new Promise<void>((resolve) => (hold = { armed: true, answered: resolve }));
      await answered;
      // the held round polled the shard before these writes: it must not place the marker emitted after them
      for (let i = 0; i < 3; i++) await put(table, `before-${i}`);
      const placed = incremental.emitMarker("m", controller.signal);
      hold.release?.();
      await placed;
      for (let i = 0; i < 3; i++) await put(table, `after-${i}`);
      await until("every record", () => log.filter((e) => e.startsWith("after-")).length === 3);
    } finally {
      controller.abort();
      hold.release?.();
      await reading.catch(() => undefined);
      real.destroy();
    }
    expectBracketed(log, "m", ["before-0", "before-1", "before-2"], ["after-0", "after-1", "after-2"]);
  }, 120_000);

  it("does not place a marker after a round that fetched a full page (the stream's tip not reached)", async () => {
    const table = `zetl_marks_page_${run}`;
    await createTable(table, "NEW_AND_OLD_IMAGES");
    // two records per GetRecords: a round that fetched two may have left more behind
    const s = source(table, 50, { limit: 2 });
    const incremental = s.incremental;
    if (incremental === undefined) throw new Error("the dynamodb source offers incremental snapshots");
    const log: string[] = [];
    const controller = new AbortController();
    const reading = collect(s, log, controller.signal);
    const before = Array.from({ length: 9 }, (_, i) => `before-${i}`);
    try {
      for (const pk of before) await put(table, pk);
      await incremental.emitMarker("m", controller.signal);
      await put(table, "after-0");
      await until("every record", () => log.includes("after-0"));
    } finally {
      controller.abort();
      await reading.catch(() => undefined);
    }
    expectBracketed(log, "m", before, ["after-0"]);
  }, 120_000);

  it("rejects a pending marker when the caller aborts, and a later one once the source is closed", async () => {
    const table = `zetl_marks_abort_${run}`;
    await createTable(table, "NEW_AND_OLD_IMAGES");
    const s = source(table, 50);
    const incremental = s.incremental;
    if (incremental === undefined) throw new Error("the dynamodb source offers incremental snapshots");
    // no stream runs: the marker waits for one, until aborted
    const controller = new AbortController();
    const pending = incremental.emitMarker("lonely", controller.signal);
    controller.abort();
    await expect(pending).rejects.toThrow(/aborted before the stream reader placed it/);
    await s.close();
    await expect(incremental.emitMarker("late")).rejects.toThrow(/source closed/);
  });

  it("refuses a KEYS_ONLY stream, naming StreamViewType", async () => {
    const table = `zetl_keys_only_${run}`;
    await createTable(table, "KEYS_ONLY");
    const s = source(table, 50);
    const session = await s.snapshot({ tables: [] });
    for await (const chunk of session.chunks) void chunk;
    const iterator = s.stream(session.position, {})[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow(/StreamViewType KEYS_ONLY.*NEW_AND_OLD_IMAGES/);
  });
});
