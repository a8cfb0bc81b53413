import type { ChangeEvent } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";
import { createDynamoDbTableModel, decodeChangeRecord, validateDynamoDbSourceOptions } from "@zero-etl/sources/dynamodb";
import type { DynamoDbDeleteEvent } from "@zero-etl/sources/dynamodb";
import { describe, expect, it } from "vitest";

const model = createDynamoDbTableModel({ namespace: "eu-west-1", table: "sessions", partitionKey: { name: "id", type: "B" } });

describe("dynamodb stream record decoding", () => {
  it("marks Time To Live removals as expired deletes", () => {
    const out: ChangeEvent[] = [];
    const keys = { id: { B: Uint8Array.of(1, 2) } };
    const old = { id: { B: Uint8Array.of(1, 2) }, ttl: { N: "1700000000" } };
    decodeChangeRecord(
      { eventName: "REMOVE", userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" }, dynamodb: { Keys: keys, OldImage: old, SequenceNumber: "5" } },
      { model, position: "shardId-1/5", out },
    );
    decodeChangeRecord({ eventName: "REMOVE", dynamodb: { Keys: keys, OldImage: old, SequenceNumber: "6" } }, { model, position: "shardId-1/6", out });
    const [ttl, user] = out as DynamoDbDeleteEvent[];
    expect(ttl).toMatchObject({ op: "delete", expired: true, key: { id: Uint8Array.of(1, 2) } });
    expect(ttl?.before?.item).toBe('{"id":"AQI=","ttl":1700000000}');
    expect(user?.expired).toBeUndefined();
  });

  it("decodes the memberless attribute value of DynamoDB Local's stream records as an empty map", () => {
    const out: ChangeEvent[] = [];
    const image = { id: { B: Uint8Array.of(7) }, em: {}, l: { L: [{ NULL: true }, {}, { L: [] }] }, m: { M: { inner: {} } } };
    decodeChangeRecord({ eventName: "INSERT", dynamodb: { Keys: { id: { B: Uint8Array.of(7) } }, NewImage: image, SequenceNumber: "1" } }, { model, position: "s/1", out });
    expect(out[0]?.op === "insert" ? out[0].after.item : undefined).toBe('{"em":{},"id":"Bw==","l":[null,{},[]],"m":{"inner":{}}}');
  });

  it("rejects a record with an attribute type DynamoDB does not have, naming its table and position, and emits nothing of it", () => {
    const out: ChangeEvent[] = [];
    const image = { id: { B: Uint8Array.of(7) }, odd: { $unknown: ["X", 1] } as never };
    let error: unknown;
    try {
      decodeChangeRecord({ eventName: "INSERT", dynamodb: { Keys: { id: { B: Uint8Array.of(7) } }, NewImage: image, SequenceNumber: "1" } }, { model, position: "s/1", out });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: "record-rejected", table: "eu-west-1.sessions", retryable: false });
    expect(String((error as Error).message)).toMatch(/at s\/1 of table eu-west-1\.sessions cannot be decoded.*\$unknown/);
    expect(out).toEqual([]);
  });

  it("refuses records without images, naming the stream view type", () => {
    expect(() =>
      decodeChangeRecord({ eventName: "INSERT", dynamodb: { Keys: { id: { B: Uint8Array.of(1) } }, SequenceNumber: "1" } }, { model, position: "s/1", out: [] }),
    ).toThrow(/NEW_AND_OLD_IMAGES/);
  });

  it("builds binary key columns and a json document column", () => {
    const schema = model.schemaFor(model.base);
    expect(schema.columns.map((c) => [c.name, c.type.kind, c.sourceType])).toEqual([
      ["id", "bytes", "B"],
      ["item", "json", "item"],
    ]);
    expect(Object.isFrozen(schema)).toBe(true);
    expect(() => createDynamoDbTableModel({ namespace: "x", table: "t", partitionKey: { name: "item", type: "S" } })).toThrow(ConfigError);
  });
});

describe("dynamodb source options", () => {
  const base = { table: "orders", region: "us-east-1", pipeline: "p" };
  const fails = (patch: Record<string, unknown>, path: string) => {
    try {
      validateDynamoDbSourceOptions({ ...base, ...patch });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe(path);
      return;
    }
    throw new Error(`expected a ConfigError at ${path}`);
  };

  it("accepts a valid config and names the first invalid field", () => {
    expect(validateDynamoDbSourceOptions({ ...base, snapshot: { mode: "scan", segments: 4, capacityShare: 0.5 } }).table).toBe("orders");
    fails({ table: "ab" }, "source.table");
    fails({ region: "US East" }, "source.region");
    fails({ pipeline: "" }, "source.pipeline");
    fails({ endpoint: "localhost:8000" }, "source.endpoint");
    fails({ snapshot: { mode: "dump" } }, "source.snapshot.mode");
    fails({ snapshot: { mode: "scan", capacityShare: 1.5 } }, "source.snapshot.capacityShare");
    fails({ snapshot: { mode: "scan", segments: 0 } }, "source.snapshot.segments");
    fails({ snapshot: { mode: "export" } }, "source.snapshot.export");
    fails({ snapshot: { mode: "export", export: { bucket: "Bad_Bucket" } } }, "source.snapshot.export.bucket");
    fails({ routing: { attribute: "type", prefix: { on: "pk", separator: "#" } } }, "source.routing");
    fails({ routing: { prefix: { on: "gsi", separator: "#" } } }, "source.routing");
    fails({ stream: { limit: 5000 } }, "source.stream.limit");
  });

  it("never echoes credentials in errors", () => {
    try {
      validateDynamoDbSourceOptions({ ...base, credentials: { accessKeyId: "AKIA-SECRET-ID", secretAccessKey: 42 } });
      throw new Error("expected an error");
    } catch (error) {
      expect((error as Error).message).not.toContain("AKIA-SECRET-ID");
      expect((error as ConfigError).path).toBe("source.credentials");
    }
  });
});
