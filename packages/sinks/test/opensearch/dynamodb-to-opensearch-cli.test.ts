import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../../../test-support/dynamodb-local.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { deleteIndices, openSearchRequest, openSearchUrl, readAllDocuments, searchIds, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";

// DynamoDB Local (with Streams) -> OpenSearch through the CLI: the item lands
// as a flat_object whose numbers keep every digit in _source.
describe("zeroetl with DynamoDB -> OpenSearch", () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let env: NodeJS.ProcessEnv;
  const table = `orders_${Math.random().toString(36).slice(2, 8)}`;
  const prefix = uniqueIndexPrefix("ddb");

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
    for (let i = 1; i <= 20; i++) {
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: `order#${i}` },
            total: { N: i === 1 ? "12345678901234567890.123456789012345678" : String(i * 10) },
            customer: { M: { name: { S: `c${i}` }, tier: { N: String(i % 3) } } },
          },
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await ddb?.stop();
    await deleteIndices(prefix);
  });

  it("replicates the snapshot and the stream; the documents are searchable and exact", async () => {
    const { file } = await writeConfig({
      name: `os_ddb_${process.pid}`,
      source: { type: "dynamodb", table, region: "us-east-1", endpoint: ddb.endpoint },
      target: { type: "opensearch", node: openSearchUrl(), index: `${prefix}.{table}` },
    });
    const first = await runCli(["run", file, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);

    await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: "order#2" } }, UpdateExpression: "SET #t = :t", ExpressionAttributeNames: { "#t": "total" }, ExpressionAttributeValues: { ":t": { N: "99999999999999999999999999999999999999" } } }));
    await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: "order#3" } } }));
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "order#100" }, total: { N: "0.000000000000000000000000000000000001" }, customer: { M: { name: { S: "newcomer" } } } } }));
    const second = await runCli(["run", file, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);

    const index = `${prefix}.${table}`;
    const documents = await readAllDocuments(index);
    const expectedIds = ["order#100", ...Array.from({ length: 20 }, (_, i) => `order#${i + 1}`).filter((id) => id !== "order#3")].sort();
    expect([...documents.keys()].sort()).toEqual(expectedIds);
    // the exact digits, read from the raw _source text (JSON.parse would round them)
    const raw = async (id: string): Promise<string> => {
      const response = await fetch(`${openSearchUrl()}/${encodeURIComponent(index)}/_source/${encodeURIComponent(id)}`);
      return response.text();
    };
    expect(await raw("order#1")).toContain("12345678901234567890.123456789012345678");
    expect(await raw("order#2")).toContain("99999999999999999999999999999999999999");
    expect(await raw("order#100")).toContain("0.000000000000000000000000000000000001");
    const mapping = Object.values((await openSearchRequest("GET", `/${encodeURIComponent(index)}/_mapping`)).body as Record<string, any>)[0].mappings.properties;
    expect(Object.keys(mapping).sort()).toEqual(Object.keys(documents.get("order#1") ?? {}).sort());
    const itemColumn = Object.entries(mapping).find(([, m]) => (m as { type: string }).type === "flat_object")?.[0];
    expect(itemColumn).toBeDefined();
    expect(await searchIds(index, { term: { [`${itemColumn}.customer.name`]: "newcomer" } })).toEqual(["order#100"]);
  });
});
