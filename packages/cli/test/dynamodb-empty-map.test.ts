import { CreateTableCommand, DynamoDBClient, PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../../test-support/dynamodb-local.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// An empty map under unnest `all`, DynamoDB Local -> PostgreSQL through the
// CLI, by snapshot and by streaming with a restart in between (fidelity
// dynamodb-pg seeds 1-4, "twins": the same item gave item__m = NULL through
// the snapshot and item__m = {} through the stream, because the path was a
// json column by then). An empty map flattens to no leaves, so its path reads
// NULL whatever came before at that path. Source read with a plain Scan,
// target with SQL.
describe("zeroetl with DynamoDB -> PostgreSQL under unnest all: empty maps", () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let target: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let config: string;
  const table = `em_${Math.random().toString(36).slice(2, 8)}`;

  const put = (pk: string, attributes: Record<string, AttributeValue>) => client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, ...attributes } }));

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
    target = await createTestDatabase("cli_ddb_empty_map");
    ({ file: config } = await writeConfig({
      name: `em_${table}`,
      source: { type: "dynamodb", table, region: "us-east-1", endpoint: ddb.endpoint },
      target: { type: "postgres", url: target.url, schema: "ddb" },
      mapping: { unnest: { mode: "all" } },
    }));
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await ddb?.stop();
    await target?.drop();
  });

  /** What column item__m holds for an item's `m`: a number set is a JSON array, an empty map (no leaves) or no attribute NULL. */
  const expectedM = (m: AttributeValue | undefined): unknown => {
    if (m === undefined || m.NULL === true) return null;
    if (m.NS !== undefined) return m.NS.map(Number).sort((a, b) => a - b);
    if (m.M !== undefined && Object.keys(m.M).length === 0) return null;
    throw new Error("attribute shape not used here");
  };
  /** What column item__b__k holds: the string at b.k, NULL when b or b.k is absent. */
  const expectedBk = (b: AttributeValue | undefined): unknown => b?.M?.k?.S ?? null;

  const run = async () => {
    const result = await runCli(["run", config, "--until-caught-up"], env);
    expect(result.code, result.stderr).toBe(0);
  };
  const check = async () => {
    const scanned = (await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
    const want = Object.fromEntries(scanned.map((item) => [item.pk?.S, { m: expectedM(item.m), bk: expectedBk(item.b) }]));
    const rows = (await target.query<{ pk: string; m: unknown; bk: unknown }>(`SELECT item__pk AS pk, to_jsonb(item__m) AS m, item__b__k AS bk FROM ddb."${table}"`)).rows;
    const got = Object.fromEntries(rows.map((r) => [r.pk, { m: Array.isArray(r.m) ? [...(r.m as number[])].sort((a, b) => a - b) : r.m, bk: r.bk }]));
    expect(got).toEqual(want);
  };

  it("reads NULL for an empty map, by snapshot, streaming and after a restart, whatever came before at its path", async () => {
    await put("e1", { m: { M: {} }, b: { M: { k: { S: "v" } } } });
    await put("n1", { m: { NS: ["1", "12.5"] } });
    await run();
    await check();
    // the same content through the stream, once item__m is a column of the target
    await put("e2", { m: { M: {} }, b: { M: {} } });
    await put("n2", { m: { NS: ["-1"] }, b: { M: { k: { S: "w" } } } });
    await run();
    await check();
    // updates: a number set emptied into a map, a map emptied, after another restart
    await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: "n1" } }, UpdateExpression: "SET m = :e", ExpressionAttributeValues: { ":e": { M: {} } } }));
    await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: "n2" } }, UpdateExpression: "SET b = :e", ExpressionAttributeValues: { ":e": { M: {} } } }));
    await put("e3", { m: { M: {} } });
    await run();
    await check();
  }, 120_000);
});
