import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TableSchema } from "@zero-etl/core";
import { ConfigError, ZeroEtlError } from "@zero-etl/core";
import { choosePartitionKey, openSearchDocumentId } from "@zero-etl/mappers";

const schema: TableSchema = {
  table: { namespace: "shop", name: "orders" },
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "customer", type: { kind: "string" }, nullable: false },
    { name: "score", type: { kind: "float", bits: 64 }, nullable: false },
    { name: "paid", type: { kind: "bool" }, nullable: false },
    { name: "note", type: { kind: "string" }, nullable: true },
    { name: "created_at", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: false },
    { name: "ship_date", type: { kind: "date" }, nullable: false },
  ],
  primaryKey: ["id"],
  version: 1,
};

const pathOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return `${error.path}: ${error.message}`;
    throw error;
  }
  return "no error";
};

describe("choosePartitionKey: iceberg", () => {
  it("partitions by day of an obvious insert-time column and explains why", () => {
    const layout = choosePartitionKey({ schema, target: "iceberg" });
    expect(layout).toMatchObject({ target: "iceberg", fields: [{ sourceColumn: "created_at", transform: "day", name: "created_at_day" }] });
    expect(layout.reason).toMatch(/insert-time/);
  });

  it("leaves small tables and tables without an insert-time column unpartitioned", () => {
    expect(choosePartitionKey({ schema, target: "iceberg", statistics: { rowCount: 5000 } })).toMatchObject({ fields: [] });
    const noTime = { ...schema, columns: schema.columns.filter((c) => c.name !== "created_at") };
    const layout = choosePartitionKey({ schema: noTime, target: "iceberg" });
    expect(layout).toMatchObject({ fields: [] });
    expect(layout.reason).toMatch(/no obvious insert-time column/);
  });

  it("accepts valid custom transforms", () => {
    const layout = choosePartitionKey({
      schema,
      target: "iceberg",
      custom: { fields: [{ column: "customer", transform: "bucket[16]" }, { column: "ship_date", transform: "month" }, { column: "customer", transform: "truncate[4]" }, { column: "created_at", transform: "hour" }] },
    });
    expect(layout.target === "iceberg" ? layout.fields.map((f) => f.name) : []).toEqual(["customer_bucket", "ship_date_month", "customer_truncate", "created_at_hour"]);
  });

  it("rejects custom keys with clear errors naming the path", () => {
    const custom = (column: string, transform: string) => () => choosePartitionKey({ schema, target: "iceberg", custom: { fields: [{ column: "id", transform: "identity" }, { column, transform }] } });
    expect(pathOf(custom("nope", "identity"))).toMatch(/^partitionKey.fields\[1\].column: .*a column of shop.orders/);
    expect(pathOf(custom("note", "identity"))).toMatch(/^partitionKey.fields\[1\].column: .*nullable/);
    expect(pathOf(custom("score", "identity"))).toMatch(/^partitionKey.fields\[1\].column: .*floating-point/);
    expect(pathOf(custom("customer", "day"))).toMatch(/^partitionKey.fields\[1\].transform: .*date or timestamp/);
    expect(pathOf(custom("paid", "truncate[3]"))).toMatch(/^partitionKey.fields\[1\].transform: .*truncate/);
    expect(pathOf(custom("id", "bucket[0]"))).toMatch(/^partitionKey.fields\[1\].transform: .*N > 0/);
    expect(pathOf(custom("ship_date", "hour"))).toMatch(/^partitionKey.fields\[1\].transform: .*timestamp column for hour/);
    expect(pathOf(custom("id", "weekly"))).toMatch(/^partitionKey.fields\[1\].transform: .*identity, bucket/);
  });
});

describe("choosePartitionKey: redshift", () => {
  it("distributes on a single-column primary key and sorts by insert time", () => {
    expect(choosePartitionKey({ schema, target: "redshift" })).toMatchObject({ distStyle: "KEY", distKey: "id", sortKey: ["created_at"] });
  });

  it("uses statistics for composite keys and falls back to AUTO", () => {
    const composite = { ...schema, primaryKey: ["customer", "id"] };
    expect(choosePartitionKey({ schema: composite, target: "redshift" })).toMatchObject({ distStyle: "AUTO" });
    const stats = { rowCount: 1000, distinctCounts: { customer: 20, id: 1000 } };
    expect(choosePartitionKey({ schema: composite, target: "redshift", statistics: stats })).toMatchObject({ distStyle: "KEY", distKey: "id" });
    expect(choosePartitionKey({ schema: composite, target: "redshift", statistics: { rowCount: 1000, distinctCounts: { customer: 990 } } })).toMatchObject({ distStyle: "KEY", distKey: "customer" });
    expect(choosePartitionKey({ schema: { ...schema, primaryKey: [] }, target: "redshift" })).toMatchObject({ distStyle: "AUTO" });
    expect(pathOf(() => choosePartitionKey({ schema, target: "redshift", custom: { distKey: "score" } }))).toMatch(/^partitionKey.distKey/);
  });
});

describe("choosePartitionKey: opensearch and dynamodb", () => {
  it("derives the document id from the primary key", () => {
    const layout = choosePartitionKey({ schema: { ...schema, primaryKey: ["customer", "id"] }, target: "opensearch", custom: { routing: "customer" } });
    expect(layout).toMatchObject({ idColumns: ["customer", "id"], routing: "customer" });
    expect(() => choosePartitionKey({ schema: { ...schema, primaryKey: [] }, target: "opensearch" })).toThrow(ZeroEtlError);
  });

  it("property: composite document ids are deterministic and collision-free", () => {
    fc.assert(
      fc.property(fc.tuple(fc.string(), fc.string()), fc.tuple(fc.string(), fc.string()), (a, b) => {
        const id = (k: [string, string]) => openSearchDocumentId({ x: k[0], y: k[1] }, ["x", "y"]);
        expect(id(a)).toBe(id([...a]));
        if (a[0] !== b[0] || a[1] !== b[1]) expect(id(a)).not.toBe(id(b));
      }),
    );
    expect(openSearchDocumentId({ n: 12345678901234567890n, s: "a|b" }, ["n", "s"])).toBe("12345678901234567890|a\\|b");
  });

  it("passes DynamoDB keys through and validates custom ones", () => {
    const dynamo: TableSchema = { ...schema, primaryKey: ["customer", "created_at"] };
    expect(pathOf(() => choosePartitionKey({ schema: dynamo, target: "dynamodb" }))).toMatch(/^partitionKey.rangeKey: .*DynamoDB key types/);
    expect(choosePartitionKey({ schema: { ...schema, primaryKey: ["customer", "id"] }, target: "dynamodb" })).toMatchObject({ partitionKey: "customer", rangeKey: "id" });
    expect(choosePartitionKey({ schema, target: "dynamodb", custom: { partitionKey: "customer" } })).toMatchObject({ partitionKey: "customer" });
  });
});
