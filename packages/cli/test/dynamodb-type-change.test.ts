import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../../test-support/dynamodb-local.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// One attribute holding values of several DynamoDB types (BOOL, B, N, S) in
// different items, DynamoDB Local -> PostgreSQL through the CLI with unnest
// `top-level`, by snapshot and by streaming with a restart in between (issue
// 18.3; fidelity gate dynamodb.type-change, seed 97: a BOOL landed as the JSON
// string "false" once another item had binary there). Each value must keep
// its JSON type in the column: read with SQL (`to_jsonb` of the column) and
// compared with the item's attribute as the document layout writes it.
describe("zeroetl with DynamoDB -> PostgreSQL: an attribute whose type differs between items", () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let target: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let config: string;
  const table = `tc_${Math.random().toString(36).slice(2, 8)}`;
  const items = new Map<string, AttributeValue | undefined>();

  const put = async (pk: string, a: AttributeValue | undefined) => {
    items.set(pk, a);
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, ...(a === undefined ? {} : { a }) } }));
  };

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
    target = await createTestDatabase("cli_ddb_tc");
    ({ file: config } = await writeConfig({
      name: `tc_${table}`,
      source: { type: "dynamodb", table, region: "us-east-1", endpoint: ddb.endpoint },
      target: { type: "postgres", url: target.url, schema: "ddb" },
      mapping: { unnest: { mode: "top-level" } },
    }));
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await ddb?.stop();
    await target?.drop();
  });

  /** The attribute as the document layout writes it: N an exact number, B base64. */
  const expected = (a: AttributeValue | undefined): unknown => {
    if (a === undefined || a.NULL === true) return null;
    if (a.BOOL !== undefined) return a.BOOL;
    if (a.S !== undefined) return a.S;
    if (a.N !== undefined) return Number(a.N);
    if (a.B !== undefined) return Buffer.from(a.B).toString("base64");
    throw new Error("attribute type not used here");
  };
  const run = async () => {
    const result = await runCli(["run", config, "--until-caught-up"], env);
    expect(result.code, result.stderr).toBe(0);
  };
  const check = async () => {
    const rows = (await target.query<{ pk: string; a: unknown }>(`SELECT item__pk AS pk, to_jsonb(item__a) AS a FROM ddb."${table}" ORDER BY 1`)).rows;
    expect(Object.fromEntries(rows.map((r) => [r.pk, r.a]))).toEqual(Object.fromEntries([...items].sort().map(([pk, a]) => [pk, expected(a)])));
  };

  it("keeps each value's type in the column, by snapshot, streaming and after a restart", async () => {
    await put("b1", { BOOL: false });
    await put("bin", { B: Uint8Array.of(0x8b, 0x05, 0xcc) });
    await put("b2", { BOOL: true });
    await run();
    await check();
    // streaming: more types into the same attribute, after a restart
    await put("n1", { N: "12.50" });
    await put("s1", { S: "false" });
    await put("b3", { BOOL: false });
    await run();
    await check();
    // an update turning a string into a boolean, and a number into binary, after another restart
    await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: "s1" } }, UpdateExpression: "SET a = :v", ExpressionAttributeValues: { ":v": { BOOL: true } } }));
    items.set("s1", { BOOL: true });
    await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: [{ PutRequest: { Item: { pk: { S: "n1" }, a: { B: Uint8Array.of(1) } } } }] } }));
    items.set("n1", { B: Uint8Array.of(1) });
    await put("n2", { N: "7" });
    await run();
    await check();
  });
});
