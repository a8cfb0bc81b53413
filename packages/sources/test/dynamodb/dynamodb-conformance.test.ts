import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { describeSourceConformance } from "@zero-etl/core/testing";
import { createDynamoDbSource } from "@zero-etl/sources/dynamodb";
import { startDynamoDbLocal } from "../../../../test-support/dynamodb-local.js";

describeSourceConformance({
  name: "dynamodb",
  timeoutMs: 30_000,
  async setup() {
    const ddb = await startDynamoDbLocal();
    const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: ddb.region, credentials: ddb.credentials });
    const name = `people_${Math.random().toString(36).slice(2, 8)}`;
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "N" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
      }),
    );
    const create = () => createDynamoDbSource({ table: name, region: ddb.region, endpoint: ddb.endpoint, credentials: ddb.credentials, pipeline: "conformance", namespace: "ddb" });
    return {
      table: { namespace: "ddb", name },
      createSource: async () => create(),
      insert: async (rows) => {
        for (const row of rows) await client.send(new PutItemCommand({ TableName: name, Item: { id: { N: String(row.id) }, name: { S: row.name } } }));
      },
      update: async (id, value) => {
        await client.send(
          new UpdateItemCommand({ TableName: name, Key: { id: { N: String(id) } }, UpdateExpression: "SET #n = :n", ExpressionAttributeNames: { "#n": "name" }, ExpressionAttributeValues: { ":n": { S: value } } }),
        );
      },
      remove: async (id) => {
        await client.send(new DeleteItemCommand({ TableName: name, Key: { id: { N: String(id) } } }));
      },
      // items are documents: the name lives in the item's JSON text
      nameOf: (row) => (JSON.parse(String(row.item)) as { name?: unknown }).name,
      cleanup: async () => {
        client.destroy();
        await ddb.stop();
      },
    };
  },
});
