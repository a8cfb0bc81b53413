import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalObjectStore, readIcebergTable } from "@zero-etl/sinks/iceberg";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../../test-support/dynamodb-local.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// DynamoDB (Local, with Streams) -> PostgreSQL and -> Iceberg through the CLI:
// snapshot by Scan, then changes by DynamoDB Streams; numbers keep all 38 digits.
describe("zeroetl with DynamoDB -> PostgreSQL and -> Iceberg", () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let target: TestDatabase;
  let warehouse: string;
  let env: NodeJS.ProcessEnv;
  const table = `orders_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
    client = new DynamoDBClient({ endpoint: ddb.endpoint, region: ddb.region, credentials: ddb.credentials });
    env = { AWS_ACCESS_KEY_ID: ddb.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: ddb.credentials.secretAccessKey };
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
      }),
    );
    for (let i = 1; i <= 50; i++) {
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: `order#${i}` },
            total: { N: i === 1 ? "12345678901234567890.123456789012345678" : String(i * 10) },
            customer: { M: { name: { S: `c${i}` }, tier: { N: String(i % 3) } } },
            lines: { L: [{ M: { sku: { S: "a" }, qty: { N: "1" } } }] },
          },
        }),
      );
    }
    target = await createTestDatabase("cli_ddb");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-ddb-lake-"));
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await ddb?.stop();
    await target?.drop();
    if (warehouse !== undefined) await rm(warehouse, { recursive: true, force: true });
  });

  const source = () => ({ type: "dynamodb", table, region: "us-east-1", endpoint: ddb.endpoint });

  it("replicates snapshot and stream into both targets with exact numbers", async () => {
    const { file: toPostgres } = await writeConfig({ name: "ddb_pg", source: source(), target: { type: "postgres", url: target.url, schema: "ddb" } });
    const { file: toIceberg } = await writeConfig({ name: "ddb_lake", source: source(), target: { type: "iceberg", warehouse, namespace: "lake" } });
    for (const config of [toPostgres, toIceberg]) {
      const run = await runCli(["run", config, "--until-caught-up"], env);
      expect(run.code, run.stderr).toBe(0);
    }

    await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: "order#2" } }, UpdateExpression: "SET #t = :t", ExpressionAttributeNames: { "#t": "total" }, ExpressionAttributeValues: { ":t": { N: "99999999999999999999999999999999999999" } } }));
    await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: "order#3" } } }));
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "order#100" }, total: { N: "0.000000000000000000000000000000000001" } } }));
    for (const config of [toPostgres, toIceberg]) {
      const run = await runCli(["run", config, "--until-caught-up"], env);
      expect(run.code, run.stderr).toBe(0);
    }

    const pg = (await target.query(`SELECT pk, item->>'total' AS total FROM ddb.${table} ORDER BY pk`)).rows;
    const lakeRows = (await readIcebergTable({ store: createLocalObjectStore(), location: join(warehouse, "lake", table) })).rows;
    expect(pg).toHaveLength(50);
    expect(pg.find((r) => r.pk === "order#3")).toBeUndefined();
    // jsonb keeps the digits of a numeric value; ->> prints them
    expect(pg.find((r) => r.pk === "order#1")?.total).toBe("12345678901234567890.123456789012345678");
    expect(pg.find((r) => r.pk === "order#2")?.total).toBe("99999999999999999999999999999999999999");
    expect(pg.find((r) => r.pk === "order#100")?.total).toBe("0.000000000000000000000000000000000001");
    expect(lakeRows.map((r) => String(r.pk)).sort()).toEqual(pg.map((r) => String(r.pk)).sort());
    // the item document is JSON text with every digit of every number
    expect(String(lakeRows.find((r) => r.pk === "order#1")?.item)).toContain('"total":12345678901234567890.123456789012345678');
    expect(String(lakeRows.find((r) => r.pk === "order#2")?.item)).toContain('"total":99999999999999999999999999999999999999');
  });

  it("unnests the item documents with each mode", async () => {
    const results: Record<string, Record<string, unknown>[]> = {};
    for (const mode of ["none", "top-level", "all"]) {
      const schema = `ddb_${mode.replace("-", "_")}`;
      const { file } = await writeConfig({ name: schema, source: source(), target: { type: "postgres", url: target.url, schema }, mapping: { unnest: { mode } } });
      const run = await runCli(["run", file, "--until-caught-up"], env);
      expect(run.code, run.stderr).toBe(0);
      results[mode] = (await target.query(`SELECT * FROM ${schema}.${table} WHERE pk IN ('order#1', 'order#5') ORDER BY pk`)).rows;
    }
    // none: the whole item stays one JSON document
    expect(results.none?.map((r) => (r.item as { customer: unknown }).customer)).toEqual([{ name: "c1", tier: 1 }, { name: "c5", tier: 2 }]);
    // top-level: one column per attribute, maps and lists stay JSON; numbers keep every digit
    expect(results["top-level"]?.map((r) => [String(r.item__total), r.item__customer])).toEqual([
      ["12345678901234567890.123456789012345678", { name: "c1", tier: 1 }],
      ["50", { name: "c5", tier: 2 }],
    ]);
    // all: every map level flattened
    expect(results.all?.map((r) => [r.item__customer__name, String(r.item__customer__tier), r.item__lines])).toEqual([
      ["c1", "1", [{ qty: 1, sku: "a" }]],
      ["c5", "2", [{ qty: 1, sku: "a" }]],
    ]);
  });
});
