import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { AttributeValue as SdkAttributeValue } from "@aws-sdk/client-dynamodb";
import { compareSerialized, createMemoryCheckpointStore, createMemoryDeadLetterQueue, runPipeline } from "@zero-etl/core";
import { createRecordingSink } from "@zero-etl/core/testing";
import type { ChangeEvent, Row, Source } from "@zero-etl/core";
import { createDynamoDbSource, createSdkDynamoDbApi, createSdkDynamoDbStreamsApi, createSdkS3ObjectApi, dynamoDbPositionCodec, itemToJsonText } from "@zero-etl/sources/dynamodb";
import type { AttributeMap, DynamoDbApi, DynamoDbSourceOptions, DynamoDbStreamsApi } from "@zero-etl/sources/dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startDynamoDbLocal } from "../../../../test-support/dynamodb-local.js";
import { startS3rver } from "../../../../test-support/s3rver.js";
import type { DynamoDbLocal } from "../../../../test-support/dynamodb-local.js";

let local: DynamoDbLocal;
let ddb: DynamoDBClient;
const tables: string[] = [];
const sources: Source[] = [];
const run = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  local = await startDynamoDbLocal();
  ddb = new DynamoDBClient({ endpoint: local.endpoint, region: local.region, credentials: local.credentials });
});

afterAll(async () => {
  for (const s of sources) await s.close();
  for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
  ddb?.destroy();
  await local?.stop();
});

async function createTable(suffix: string, opts: { stream?: boolean; sortKey?: "S" | "N" } = {}): Promise<string> {
  const name = `zetl_${suffix}_${run}`;
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, ...(opts.sortKey === undefined ? [] : [{ AttributeName: "sk", AttributeType: opts.sortKey }])],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, ...(opts.sortKey === undefined ? [] : [{ AttributeName: "sk", KeyType: "RANGE" as const }])],
      ...(opts.stream === false ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" } }),
    }),
  );
  tables.push(name);
  return name;
}

function source(table: string, extra: Partial<DynamoDbSourceOptions> = {}): Source {
  const s = createDynamoDbSource({
    table,
    region: local.region,
    endpoint: local.endpoint,
    credentials: local.credentials,
    pipeline: `test-${run}`,
    stream: { idleDelayMs: 50 },
    ...extra,
  });
  sources.push(s);
  return s;
}

/** Streams from `from` until a caught-up checkpoint at or after the source's position at call time. */
async function drain(s: Source, from: string): Promise<{ events: ChangeEvent[]; checkpoint: string; batches: number }> {
  const target = await s.currentPosition();
  const ac = new AbortController();
  const events: ChangeEvent[] = [];
  let checkpoint = from;
  let batches = 0;
  for await (const batch of s.stream(from, { signal: ac.signal })) {
    events.push(...batch.events);
    batches++;
    if (batch.checkpoint !== undefined) checkpoint = batch.checkpoint;
    if (batch.caughtUp === true && batch.checkpoint !== undefined && compareSerialized(s.positions, batch.checkpoint, target) >= 0) break;
  }
  ac.abort();
  return { events, checkpoint, batches };
}

/** A target that applies snapshot rows and changes idempotently by key, like a sink. */
function createTarget() {
  const rows = new Map<string, Row>();
  const keyOf = (table: string, row: Row) => `${table}|${JSON.stringify(row.pk)}|${JSON.stringify(row.sk ?? null)}`;
  return {
    rows,
    put(table: string, row: Row) {
      rows.set(keyOf(table, row), row);
    },
    apply(events: readonly ChangeEvent[]) {
      for (const e of events) {
        if (e.op === "insert" || e.op === "update") {
          if (e.op === "update") rows.delete(keyOf(e.table.name, e.key));
          rows.set(keyOf(e.table.name, e.after), e.after);
        } else if (e.op === "delete") rows.delete(keyOf(e.table.name, e.key));
      }
    },
  };
}

async function scanAll(table: string): Promise<AttributeMap[]> {
  const items: AttributeMap[] = [];
  let start: Record<string, SdkAttributeValue> | undefined;
  do {
    const out = await ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
    items.push(...((out.Items ?? []) as AttributeMap[]));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

async function putMany(table: string, items: Record<string, SdkAttributeValue>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    await ddb.send(new BatchWriteItemCommand({ RequestItems: { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
}

describe("dynamodb source on DynamoDB Local", () => {
  it("snapshot + stream handoff under concurrent writes loses nothing", async () => {
    const table = await createTable("handoff", { sortKey: "N" });
    const initial = Array.from({ length: 600 }, (_, i) => ({ pk: { S: `p${i % 40}` }, sk: { N: String(i) }, v: { N: String(i * 3) }, tag: { S: "initial" } }));
    await putMany(table, initial);
    const s = source(table, { snapshot: { mode: "scan", segments: 3, chunkSize: 120, pageSize: 40 } });

    const session = await s.snapshot({});
    expect(session.schemas[0]?.columns.map((c) => `${c.name}:${c.type.kind}`)).toEqual(["pk:string", "sk:decimal", "item:json"]);
    // writes race the scan: new items, updates of existing ones, deletes
    const writer = (async () => {
      for (let i = 0; i < 80; i++) {
        await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `new${i}` }, sk: { N: String(i) }, v: { N: "1" } } }));
        await ddb.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: { S: `p${((i * 7) % 600) % 40}` }, sk: { N: String((i * 7) % 600) } },
            UpdateExpression: "SET tag = :t, v = if_not_exists(v, :zero) + :one",
            ExpressionAttributeValues: { ":t": { S: `upd${i}` }, ":one": { N: "1" }, ":zero": { N: "0" } },
          }),
        );
        const gone = (i * 11 + 300) % 600;
        if (i % 3 === 0) await ddb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: `p${gone % 40}` }, sk: { N: String(gone) } } }));
      }
    })();
    const target = createTarget();
    let chunks = 0;
    let lastChunk;
    for await (const chunk of session.chunks) {
      // a slow consumer: the bounded page queue holds the scan back while the writer goes on
      await new Promise((r) => setTimeout(r, 25));
      expect(chunk.chunk).toBe(chunks++);
      expect(chunk.rows.length).toBeLessThanOrEqual(120);
      for (const row of chunk.rows) target.put(chunk.table.name, row);
      lastChunk = chunk;
    }
    await writer;
    expect(lastChunk?.last).toBe(true);
    expect(lastChunk?.rowsRead).toBeGreaterThanOrEqual(600);
    expect(chunks).toBeGreaterThan(4);

    const { events } = await drain(s, session.position);
    expect(events.some((e) => e.op === "update")).toBe(true);
    expect(events.some((e) => e.op === "delete")).toBe(true);
    // replaying the stream from the snapshot position includes the pre-snapshot inserts too (harmless)
    target.apply(events);
    const expected = new Map((await scanAll(table)).map((item) => [`${table}|${JSON.stringify(item.pk?.S)}|${JSON.stringify(item.sk?.N)}`, itemToJsonText(item)]));
    expect(target.rows.size).toBe(expected.size);
    for (const [key, row] of target.rows) expect(row.item).toBe(expected.get(key));
  });

  it("streams inserts, updates and deletes with exact values", async () => {
    const table = await createTable("values");
    const s = source(table);
    const session = await s.snapshot({});
    for await (const chunk of session.chunks) expect(chunk.rows).toHaveLength(0);

    const big = "12345678901234567890123456789012345678";
    await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: "a" },
          big: { N: big },
          small: { N: "-0.00000000000000000000000000000000000001" },
          nested: { M: { list: { L: [{ N: "1.5" }, { M: { deep: { S: "x" } } }, { NULL: true }] }, flag: { BOOL: true } } },
          tags: { SS: ["b", "a"] },
          nums: { NS: ["10", "2"] },
          bin: { B: Uint8Array.of(0, 255, 7) },
          bins: { BS: [Uint8Array.of(9), Uint8Array.of(1)] },
        },
      }),
    );
    await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "b" }, n: { N: "1" } } }));
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: "a" } },
        UpdateExpression: "SET big = :b REMOVE bins",
        ExpressionAttributeValues: { ":b": { N: "99999999999999999999999999999999999999" } },
      }),
    );
    await ddb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: "b" } } }));

    const { events } = await drain(s, session.position);
    expect(events.map((e) => e.op)).toEqual(["insert", "insert", "update", "delete"]);
    const [insert, , update, del] = events;
    if (insert?.op !== "insert" || update?.op !== "update" || del?.op !== "delete") throw new Error("unexpected event kinds");
    expect(insert.table).toEqual({ namespace: "us-east-1", name: table });
    expect(insert.after.pk).toBe("a");
    expect(insert.after.item).toBe(
      `{"big":${big},"bin":"AP8H","bins":["AQ==","CQ=="],"nested":{"flag":true,"list":[1.5,{"deep":"x"},null]},"nums":[2,10],"pk":"a","small":-0.00000000000000000000000000000000000001,"tags":["a","b"]}`,
    );
    expect(typeof insert.commitTime).toBe("number");
    expect(update.key).toEqual({ pk: "a" });
    expect(update.before?.item).toBe(insert.after.item);
    expect(JSON.parse(String(update.after.item)).bins).toBeUndefined();
    expect(String(update.after.item)).toContain('"big":99999999999999999999999999999999999999,');
    expect(del.key).toEqual({ pk: "b" });
    expect(del.before?.item).toBe('{"n":1,"pk":"b"}');
    // event positions are shard/sequence pairs, increasing within the shard
    const seqs = events.map((e) => dynamoDbPositionCodec.parse(e.position));
    for (let i = 1; i < seqs.length; i++) expect(dynamoDbPositionCodec.compare(seqs[i] as never, seqs[i - 1] as never)).toBeGreaterThan(0);

    // aborting the signal ends the stream quietly
    const ac = new AbortController();
    let delivered = 0;
    for await (const batch of s.stream(session.position, { signal: ac.signal })) {
      delivered += batch.events.length;
      if (batch.caughtUp === true) ac.abort();
    }
    expect(delivered).toBe(4);
  });

  it("restarts from a checkpoint with nothing lost or doubled", async () => {
    const table = await createTable("restart");
    const s = source(table, { stream: { idleDelayMs: 50, limit: 7 } });
    const session = await s.snapshot({});
    for await (const _ of session.chunks) void _;
    await putMany(table, Array.from({ length: 40 }, (_, i) => ({ pk: { S: `k${i}` }, n: { N: String(i) } })));

    // first run: stop after three batches with events, keep the checkpoint of the last one
    const seen: string[] = [];
    let checkpoint = session.position;
    const ac = new AbortController();
    let withEvents = 0;
    for await (const batch of s.stream(session.position, { signal: ac.signal })) {
      if (batch.events.length === 0) continue;
      seen.push(...batch.events.map((e) => e.position));
      checkpoint = batch.checkpoint ?? checkpoint;
      if (++withEvents === 3) break;
    }
    ac.abort();
    expect(seen.length).toBe(21);
    await putMany(table, Array.from({ length: 10 }, (_, i) => ({ pk: { S: `late${i}` }, n: { N: String(i) } })));

    // second run, as after a crash: a fresh source from the stored checkpoint
    const again = source(table, { stream: { idleDelayMs: 50, limit: 7 } });
    const { events } = await drain(again, checkpoint);
    const all = [...seen, ...events.map((e) => e.position)];
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(50);
    const keys = new Set([...events.map((e) => (e.op === "insert" ? e.after.pk : null))]);
    expect(keys.has("late9")).toBe(true);
    expect(keys.has("k0")).toBe(false);
  });

  it("re-acquires an expired iterator from the last sequence number", async () => {
    const table = await createTable("expiry");
    const real = await createSdkDynamoDbStreamsApi({ region: local.region, endpoint: local.endpoint, credentials: local.credentials });
    const iteratorTypes: string[] = [];
    let calls = 0;
    const flaky: DynamoDbStreamsApi = {
      describeStream: (i, sig) => real.describeStream(i, sig),
      getShardIterator: (i, sig) => {
        iteratorTypes.push(i.ShardIteratorType ?? "");
        return real.getShardIterator(i, sig);
      },
      getRecords: (i, sig) => {
        calls++;
        if (calls === 2) return Promise.reject(Object.assign(new Error("Iterator expired"), { name: "ExpiredIteratorException" }));
        return real.getRecords(i, sig);
      },
    };
    const s = source(table, { stream: { idleDelayMs: 50, limit: 5 }, clients: { streams: flaky } });
    const session = await s.snapshot({});
    for await (const _ of session.chunks) void _;
    await putMany(table, Array.from({ length: 12 }, (_, i) => ({ pk: { S: `e${i}` } })));
    const { events } = await drain(s, session.position);
    real.destroy();
    expect(events).toHaveLength(12);
    expect(new Set(events.map((e) => e.position)).size).toBe(12);
    expect(iteratorTypes).toEqual(["TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER"]);
  });

  it("dead-letters a stream record it cannot decode, with its key, and applies the others", async () => {
    const table = await createTable("undecodable");
    const real = await createSdkDynamoDbStreamsApi({ region: local.region, endpoint: local.endpoint, credentials: local.credentials });
    // a wrapper around the real client gives one record an attribute of a type DynamoDB does not have
    const odd: DynamoDbStreamsApi = {
      describeStream: (i, sig) => real.describeStream(i, sig),
      getShardIterator: (i, sig) => real.getShardIterator(i, sig),
      getRecords: async (i, sig) => {
        const out = await real.getRecords(i, sig);
        for (const record of out.Records ?? []) {
          const image = record.dynamodb?.NewImage;
          if (image?.pk?.S === "bad") (image as Record<string, unknown>).odd = { $unknown: ["X", 1] };
        }
        return out;
      },
    };
    await putMany(table, [{ pk: { S: "before" } }]);
    const sink = createRecordingSink();
    const deadLetters = createMemoryDeadLetterQueue();
    const checkpoints = createMemoryCheckpointStore();
    const options = { name: `undecodable-${run}`, sink, checkpoints, deadLetters, untilCaughtUp: true };
    await runPipeline({ ...options, source: source(table, { clients: { streams: odd } }) });
    await putMany(table, [{ pk: { S: "a" } }, { pk: { S: "bad" }, n: { N: "1" } }, { pk: { S: "z" } }]);
    const result = await runPipeline({ ...options, source: source(table, { clients: { streams: odd } }) });
    real.destroy();
    const key = `${local.region}.${table}`;
    expect(sink.rows(key).map((r) => r.pk).sort()).toEqual(["a", "before", "z"]);
    expect(result.checkpoint.tables[key]?.state).toBe("synced");
    expect(deadLetters.letters).toHaveLength(1);
    expect(deadLetters.letters[0]).toMatchObject({ table: key, op: "insert", key: { pk: "bad" }, reason: expect.stringMatching(/cannot be decoded.*\$unknown/) });
  });

  it("fails with position-lost when the stream trimmed the stored position", async () => {
    const table = await createTable("trimmed");
    const real = await createSdkDynamoDbStreamsApi({ region: local.region, endpoint: local.endpoint, credentials: local.credentials });
    const trimmed: DynamoDbStreamsApi = {
      describeStream: (i, sig) => real.describeStream(i, sig),
      getShardIterator: () => Promise.reject(Object.assign(new Error("trimmed"), { name: "TrimmedDataAccessException" })),
      getRecords: (i, sig) => real.getRecords(i, sig),
    };
    const s = source(table, { clients: { streams: trimmed } });
    const session = await s.snapshot({});
    const consume = async (from: string) => {
      for await (const _ of s.stream(from, {})) void _;
    };
    await expect(consume(session.position)).rejects.toMatchObject({ code: "position-lost" });
    // a checkpoint naming a shard the stream no longer lists is lost too
    const stale = dynamoDbPositionCodec.serialize({ ...dynamoDbPositionCodec.parse(session.position), shards: { "shardId-gone": "100" } });
    const plain = source(table);
    await expect(
      (async () => {
        for await (const _ of plain.stream(stale, {})) void _;
      })(),
    ).rejects.toMatchObject({ code: "position-lost" });
    // a checkpoint of an earlier stream of the table (disabled and re-enabled since) is lost as well
    const replaced = dynamoDbPositionCodec.serialize({ ...dynamoDbPositionCodec.parse(session.position), streamArn: `${dynamoDbPositionCodec.parse(session.position).streamArn}x` });
    await expect(
      (async () => {
        for await (const _ of plain.stream(replaced, {})) void _;
      })(),
    ).rejects.toMatchObject({ code: "position-lost", message: expect.stringMatching(/new stream/) });
    real.destroy();
  });

  it("routes single-table-design items to entity tables", async () => {
    const table = await createTable("std", { sortKey: "S" });
    await putMany(table, [
      { pk: { S: "USER#1" }, sk: { S: "PROFILE" }, name: { S: "Ann" }, type: { S: "User" } },
      { pk: { S: "USER#2" }, sk: { S: "PROFILE" }, name: { S: "Bob" }, type: { S: "User" } },
      { pk: { S: "ORDER#9" }, sk: { S: "LINE#1" }, qty: { N: "2" }, type: { S: "OrderLine" } },
      { pk: { S: "plain" }, sk: { S: "x" } },
    ]);
    const s = source(table, { routing: { prefix: { on: "pk", separator: "#" }, entities: ["USER", "order"] } });
    expect(s.capabilities.schemaChanges).toBe(true);
    expect((await s.introspect()).map((t) => t.table.name)).toEqual([table, `${table}_user`, `${table}_order`]);
    const session = await s.snapshot({});
    expect(session.schemas.map((t) => t.table.name)).toEqual([table, `${table}_user`, `${table}_order`]);
    const byTable = new Map<string, Row[]>();
    for await (const chunk of session.chunks) {
      expect(chunk.schema.primaryKey).toEqual(["pk", "sk"]);
      byTable.set(chunk.table.name, [...(byTable.get(chunk.table.name) ?? []), ...chunk.rows]);
    }
    expect([...byTable.keys()].sort()).toEqual([table, `${table}_order`, `${table}_user`].sort());
    expect(byTable.get(`${table}_user`)?.map((r) => r.pk).sort()).toEqual(["USER#1", "USER#2"]);
    expect(byTable.get(table)?.map((r) => r.pk)).toEqual(["plain"]);

    // the stream announces each routed table with a schema event before its first change
    const byType = source(table, { routing: { attribute: "type" } });
    const position = (await byType.snapshot({})).position;
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: "ORDER#9" }, sk: { S: "LINE#1" } },
        UpdateExpression: "SET #t = :t",
        ExpressionAttributeNames: { "#t": "type" },
        ExpressionAttributeValues: { ":t": { S: "Archived Line" } },
      }),
    );
    const { events } = await drain(byType, position);
    const tail = events.slice(-3);
    // an item whose entity changed moves: delete from the old table, insert into the new one
    expect(tail.map((e) => `${e.op}:${e.table.name}`)).toEqual([`delete:${table}_orderline`, `schema:${table}_archived_line`, `insert:${table}_archived_line`]);
    expect(events.filter((e) => e.op === "schema").map((e) => e.table.name)).toEqual([`${table}_user`, `${table}_orderline`, `${table}_archived_line`]);
  });

  it("preflight reports a missing stream, then check --fix enables it", async () => {
    const table = await createTable("preflight", { stream: false });
    const s = source(table);
    const report = await s.preflight({ fix: false });
    const stream = report.checks.find((c) => c.id === "dynamodb.stream");
    expect(stream).toMatchObject({ ok: false, fixable: true, severity: "error" });
    expect(report.checks.find((c) => c.id === "dynamodb.pitr")).toMatchObject({ ok: false, severity: "warning" });
    expect(report.checks.find((c) => c.id === "dynamodb.pitr")?.message).toMatch(/cannot check/);
    await expect(s.snapshot({})).rejects.toMatchObject({ code: "preflight-failed" });

    const fixed = await s.preflight({ fix: true });
    expect(fixed.checks.find((c) => c.id === "dynamodb.stream")).toMatchObject({ ok: true, fixed: true });
    expect(fixed.checks.find((c) => c.id === "dynamodb.stream-access")).toMatchObject({ ok: true });
    const described = await ddb.send(new DescribeTableCommand({ TableName: table }));
    expect(described.Table?.StreamSpecification).toMatchObject({ StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" });
    const again = await s.preflight({ fix: false });
    expect(again.checks.find((c) => c.id === "dynamodb.stream")).toMatchObject({ ok: true });

    const missing = source(`zetl_missing_${run}`);
    const absent = await missing.preflight({ fix: false });
    expect(absent.checks[0]).toMatchObject({ id: "dynamodb.table", ok: false });
  });

  it("snapshots from an S3 export (documented layout on s3rver), then streams", async () => {
    const table = await createTable("export", { sortKey: "N" });
    await putMany(table, [
      { pk: { S: "a" }, sk: { N: "1" }, amount: { N: "10.25" }, raw: { B: Uint8Array.of(1, 2, 3) } },
      { pk: { S: "b" }, sk: { N: "2" }, amount: { N: "99999999999999999999999999999999999999" } },
    ]);
    const s3 = await startS3rver((config) => new S3Client(config));
    try {
      await s3.client.send(new CreateBucketCommand({ Bucket: "zetl-ddb-export" }));
      // the export files DynamoDB would write for this table: DYNAMODB_JSON with base64 binary
      const items = await scanAll(table);
      const toExportJson = (item: AttributeMap) =>
        JSON.stringify({ Item: item }, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v));
      const dir = "snap/AWSDynamoDB/01763700000000-live0001";
      const putObject = async (key: string, body: Uint8Array) =>
        s3.client.send(new PutObjectCommand({ Bucket: "zetl-ddb-export", Key: key, Body: body, ContentLength: body.byteLength }));
      await putObject(`${dir}/data/part0.json.gz`, gzipSync(items.map((i) => `${toExportJson(i)}\n`).join("")));
      await putObject(`${dir}/manifest-files.json`, Buffer.from(`${JSON.stringify({ itemCount: items.length, dataFileS3Key: `${dir}/data/part0.json.gz` })}\n`));
      await putObject(
        `${dir}/manifest-summary.json`,
        Buffer.from(JSON.stringify({ version: "2020-06-30", itemCount: items.length, outputFormat: "DYNAMODB_JSON", manifestFilesS3Key: `${dir}/manifest-files.json` })),
      );
      const objects = await createSdkS3ObjectApi({ ...s3.config });
      const s = source(table, {
        snapshot: { mode: "export", export: { bucket: "zetl-ddb-export", manifestSummaryKey: `${dir}/manifest-summary.json` } },
        clients: { s3: objects },
      });
      const session = await s.snapshot({});
      const rows: Row[] = [];
      for await (const chunk of session.chunks) {
        rows.push(...chunk.rows);
        expect(chunk.rowsEstimated).toBe(2);
      }
      objects.destroy();
      expect(rows.map((r) => r.item).sort()).toEqual(items.map((i) => itemToJsonText(i)).sort());
      expect(rows.find((r) => r.pk === "a")?.item).toBe('{"amount":10.25,"pk":"a","raw":"AQID","sk":1}');
      await ddb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: "a" }, sk: { N: "1" } } }));
      const { events } = await drain(s, session.position);
      expect(events.at(-1)).toMatchObject({ op: "delete", key: { pk: "a", sk: "1" } });
    } finally {
      s3.client.destroy();
      await s3.stop();
    }
  });

  it("backs off from throttled Scan pages and still reads every item", async () => {
    const table = await createTable("throttle");
    await putMany(table, Array.from({ length: 90 }, (_, i) => ({ pk: { S: `t${i}` }, n: { N: String(i) } })));
    const real = await createSdkDynamoDbApi({ region: local.region, endpoint: local.endpoint, credentials: local.credentials });
    let scans = 0;
    let throttled = 0;
    const flaky: DynamoDbApi = {
      ...real,
      scan: (input, sig) => {
        scans++;
        if (scans % 3 === 0) {
          throttled++;
          return Promise.reject(Object.assign(new Error("slow down"), { name: "ProvisionedThroughputExceededException" }));
        }
        return real.scan(input, sig);
      },
    };
    const s = source(table, { snapshot: { mode: "scan", segments: 2, pageSize: 10, chunkSize: 25, readUnitsPerSecond: 1000 }, clients: { dynamodb: flaky } });
    const session = await s.snapshot({});
    const pks: string[] = [];
    for await (const chunk of session.chunks) pks.push(...chunk.rows.map((r) => String(r.pk)));
    real.destroy();
    expect(throttled).toBeGreaterThan(2);
    expect(pks.sort()).toEqual(Array.from({ length: 90 }, (_, i) => `t${i}`).sort());
  });
});
