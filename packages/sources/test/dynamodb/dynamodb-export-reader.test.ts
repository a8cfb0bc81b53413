import { gzipSync } from "node:zlib";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createDynamoDbExportReader, createDynamoDbTableModel, createSdkS3ObjectApi, incrementalExportEvents } from "@zero-etl/sources/dynamodb";
import type { S3ObjectApi } from "@zero-etl/sources/dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver } from "../../../../test-support/s3rver.js";
import type { LocalS3 } from "../../../../test-support/s3rver.js";

// Fixtures follow the documented export layout:
// <prefix>/AWSDynamoDB/<ExportId>/manifest-summary.json, manifest-files.json (JSON lines),
// data/<file>.json.gz (gzipped JSON lines: {"Item": ...} for full exports,
// {"Metadata": {"WriteTimestampMicros": ...}, "Keys", "OldImage"?, "NewImage"?} for incremental ones).
const BUCKET = "zetl-exports";
let s3: LocalS3<S3Client>;
let api: S3ObjectApi & { destroy(): void };

async function put(key: string, body: string | Uint8Array): Promise<void> {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes, ContentLength: bytes.byteLength }));
}

function lines(objects: readonly unknown[]): string {
  return objects.map((o) => `${JSON.stringify(o)}\n`).join("");
}

async function writeExport(options: {
  exportId: string;
  type: "FULL_EXPORT" | "INCREMENTAL_EXPORT";
  files: readonly (readonly unknown[])[];
  format?: string;
  countOverride?: number;
}): Promise<string> {
  const dir = `exports/AWSDynamoDB/${options.exportId}`;
  const entries = [];
  for (const [i, rows] of options.files.entries()) {
    const key = `${dir}/data/file${i}.json.gz`;
    await put(key, gzipSync(Buffer.from(lines(rows))));
    entries.push({ itemCount: options.countOverride ?? rows.length, md5Checksum: "fixture", etag: "fixture", dataFileS3Key: key });
  }
  await put(`${dir}/manifest-files.json`, lines(entries));
  const total = options.files.reduce((n, f) => n + f.length, 0);
  const summary = {
    version: options.type === "FULL_EXPORT" ? "2020-06-30" : "2023-08-01",
    exportArn: `arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/${options.exportId}`,
    startTime: "2026-11-20T10:00:00.000Z",
    endTime: "2026-11-20T10:05:00.000Z",
    tableArn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
    tableId: "12345a12-abcd-123a-ab12-1234abc12345",
    ...(options.type === "FULL_EXPORT"
      ? { exportTime: "2026-11-20T10:00:00.000Z" }
      : { exportFromTime: "2026-11-20T09:00:00.000Z", exportToTime: "2026-11-20T10:00:00.000Z", outputView: "NEW_AND_OLD_IMAGES" }),
    s3Bucket: BUCKET,
    s3Prefix: "exports",
    s3SseAlgorithm: "AES256",
    s3SseKmsKeyId: null,
    manifestFilesS3Key: `${dir}/manifest-files.json`,
    billedSizeBytes: 1234,
    itemCount: total,
    outputFormat: options.format ?? "DYNAMODB_JSON",
    exportType: options.type,
  };
  await put(`${dir}/manifest-summary.json`, JSON.stringify(summary));
  await put(`${dir}/_started`, "");
  return `${dir}/manifest-summary.json`;
}

const model = createDynamoDbTableModel({ namespace: "us-east-1", table: "orders", partitionKey: { name: "pk", type: "S" }, sortKey: { name: "sk", type: "N" } });

beforeAll(async () => {
  s3 = await startS3rver((config) => new S3Client(config));
  await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  api = await createSdkS3ObjectApi({ ...s3.config });
});

afterAll(async () => {
  api?.destroy();
  s3?.client.destroy();
  await s3?.stop();
});

describe("dynamodb export reader on s3rver", () => {
  it("reads a full DYNAMODB_JSON export with exact numbers and binary", async () => {
    const key = await writeExport({
      exportId: "01763632800000-full0001",
      type: "FULL_EXPORT",
      files: [
        [
          { Item: { pk: { S: "o1" }, sk: { N: "1" }, total: { N: "12345678901234567890123456789012345678" }, raw: { B: "AP8H" } } },
          { Item: { pk: { S: "o2" }, sk: { N: "2" }, lines: { L: [{ M: { sku: { S: "x" }, qty: { N: "3" } } }] }, tags: { SS: ["b", "a"] }, bins: { BS: ["AQ==", "AA=="] } } },
        ],
        [],
        [{ Item: { pk: { S: "o3" }, sk: { N: "-0.5" }, gone: { NULL: true }, ok: { BOOL: true } } }],
      ],
    });
    const reader = createDynamoDbExportReader({ s3: api, bucket: BUCKET, manifestSummaryKey: key });
    const { summary, files } = await reader.manifest();
    expect(summary).toMatchObject({ exportType: "FULL_EXPORT", itemCount: 3, outputFormat: "DYNAMODB_JSON", exportTime: "2026-11-20T10:00:00.000Z" });
    expect(files.map((f) => f.itemCount)).toEqual([2, 0, 1]);
    const items = [];
    for await (const page of reader.items(2)) {
      expect(page.length).toBeLessThanOrEqual(2);
      items.push(...page);
    }
    expect(items).toHaveLength(3);
    expect(items[0]?.raw?.B).toEqual(Uint8Array.of(0, 255, 7));
    const rows = items.map((i) => model.toRow(i));
    expect(rows[0]).toEqual({ pk: "o1", sk: "1", item: '{"pk":"o1","raw":"AP8H","sk":1,"total":12345678901234567890123456789012345678}' });
    expect(rows[1]?.item).toBe('{"bins":["AA==","AQ=="],"lines":[{"qty":3,"sku":"x"}],"pk":"o2","sk":2,"tags":["a","b"]}');
    expect(rows[2]).toEqual({ pk: "o3", sk: "-0.5", item: '{"gone":null,"ok":true,"pk":"o3","sk":-0.5}' });
    await expect(
      (async () => {
        for await (const _ of reader.changes()) void _;
      })(),
    ).rejects.toThrow(/incremental/);
  });

  it("reads an incremental export as insert, update and delete events", async () => {
    const meta = (micros: string) => ({ WriteTimestampMicros: { N: micros } });
    const key = await writeExport({
      exportId: "01763636400000-incr0001",
      type: "INCREMENTAL_EXPORT",
      files: [
        [
          { Metadata: meta("1763629200000001"), Keys: { pk: { S: "n1" }, sk: { N: "1" } }, NewImage: { pk: { S: "n1" }, sk: { N: "1" }, v: { N: "0.10" } } },
          {
            Metadata: meta("1763629260000000"),
            Keys: { pk: { S: "o1" }, sk: { N: "1" } },
            OldImage: { pk: { S: "o1" }, sk: { N: "1" }, status: { S: "open" } },
            NewImage: { pk: { S: "o1" }, sk: { N: "1" }, status: { S: "shipped" }, blob: { B: "AQID" } },
          },
        ],
        [{ Metadata: meta("1763629320000000"), Keys: { pk: { S: "o2" }, sk: { N: "2" } }, OldImage: { pk: { S: "o2" }, sk: { N: "2" }, status: { S: "open" } } }],
      ],
    });
    const reader = createDynamoDbExportReader({ s3: api, bucket: BUCKET, manifestSummaryKey: key });
    expect((await reader.manifest()).summary).toMatchObject({ exportType: "INCREMENTAL_EXPORT", outputView: "NEW_AND_OLD_IMAGES" });
    const events = [];
    for await (const page of reader.changes()) events.push(...incrementalExportEvents(page, model, "01763636400000-incr0001"));
    expect(events.map((e) => e.op)).toEqual(["insert", "update", "delete"]);
    const [ins, upd, del] = events;
    if (ins?.op !== "insert" || upd?.op !== "update" || del?.op !== "delete") throw new Error("unexpected kinds");
    expect(ins.after).toEqual({ pk: "n1", sk: "1", item: '{"pk":"n1","sk":1,"v":0.1}' });
    expect(ins.commitTime).toBe(1763629200000);
    expect(ins.position).toBe("01763636400000-incr0001/1763629200000001");
    expect(upd.key).toEqual({ pk: "o1", sk: "1" });
    expect(upd.before?.item).toBe('{"pk":"o1","sk":1,"status":"open"}');
    expect(upd.after.item).toBe('{"blob":"AQID","pk":"o1","sk":1,"status":"shipped"}');
    expect(del.key).toEqual({ pk: "o2", sk: "2" });
    expect(del.before?.item).toBe('{"pk":"o2","sk":2,"status":"open"}');
  });

  it("rejects a data file whose line count disagrees with the manifest, and ION exports", async () => {
    const key = await writeExport({ exportId: "01763640000000-bad00001", type: "FULL_EXPORT", files: [[{ Item: { pk: { S: "a" }, sk: { N: "1" } } }]], countOverride: 2 });
    const reader = createDynamoDbExportReader({ s3: api, bucket: BUCKET, manifestSummaryKey: key });
    await expect(
      (async () => {
        for await (const _ of reader.items()) void _;
      })(),
    ).rejects.toThrow(/has 1 lines but the manifest lists 2/);
    const ion = await writeExport({ exportId: "01763640000000-ion00001", type: "FULL_EXPORT", files: [], format: "ION" });
    await expect(createDynamoDbExportReader({ s3: api, bucket: BUCKET, manifestSummaryKey: ion }).manifest()).rejects.toMatchObject({ code: "config-invalid" });
    await expect(createDynamoDbExportReader({ s3: api, bucket: BUCKET, manifestSummaryKey: "nope/manifest-summary.json" }).manifest()).rejects.toMatchObject({
      code: "source-failed",
    });
  });
});
