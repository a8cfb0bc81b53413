import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { createTestDatabase } from "../../test-support/postgres.js";
import type { DynamoDbLocal } from "../../test-support/dynamodb-local.js";
import { jsonTreeText, type JsonTree } from "./canonical-value.js";
import { attributeTree, keyText, sortSetsLike, targetKeyText, treeOf } from "./dynamodb-item-reader.js";
import { generateDynamoWorkload, type DynamoRequest, type DynamoTableShape, type WireValue } from "./dynamodb-workload-generator.js";
import type { PairDriver } from "./pair-driver.js";
import { openReadClient } from "./pg-to-pg-driver.js";
import type { Difference } from "./table-comparator.js";

/** Wire form (binary as base64) to the SDK's form (binary as bytes). */
function toSdk(v: WireValue): AttributeValue {
  if ("B" in v) return { B: Buffer.from(v.B, "base64") };
  if ("BS" in v) return { BS: v.BS.map((b) => Buffer.from(b, "base64")) };
  if ("M" in v) return { M: toSdkItem(v.M) };
  if ("L" in v) return { L: v.L.map(toSdk) };
  return v as AttributeValue;
}

function toSdkItem(item: Record<string, WireValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, toSdk(v)]));
}

/**
 * The columns an item lands in under unnest `top-level` (one per attribute)
 * or `all` (non-empty maps flattened to `item__a__x`, down to the leaves;
 * lists, sets and scalars are leaves; an empty map has no column), with the
 * attribute value each must hold. Paths never hold the separator here (the
 * generator's names do not), so no hash suffixes.
 */
export function flattenItem(item: Record<string, AttributeValue>, mode: "top-level" | "all"): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>();
  const walk = (column: string, av: AttributeValue) => {
    if (mode === "all" && av.M !== undefined) {
      for (const [k, v] of Object.entries(av.M)) walk(`${column}__${k}`, v);
      return;
    }
    out.set(column, av);
  };
  for (const [name, av] of Object.entries(item)) walk(`item__${name}`, av);
  return out;
}

type ObjectTree = { readonly object: ReadonlyMap<string, JsonTree> };
const isObject = (t: JsonTree): t is ObjectTree => t !== null && typeof t === "object" && "object" in t;

/**
 * DynamoDB Local -> PostgreSQL (schema `ddb`), one DynamoDB Local for all
 * seeds (a table per seed). The source is read with a consistent Scan, the
 * target with SQL (`to_jsonb` of each row); unnest `none` compares the
 * `item` document, `top-level` each `item__<attribute>` column, `all` each
 * `item__<path>` column of the flattened maps (absent attributes and paths
 * must be NULL).
 */
export function createDynamoDbDriver(local: DynamoDbLocal): PairDriver {
  const client = new DynamoDBClient({ endpoint: local.endpoint, region: local.region, credentials: local.credentials });
  let shape: DynamoTableShape | undefined;
  return {
    pair: "dynamodb-pg",
    prefix: "dynamodb",
    generate(rng, on, focus) {
      const w = generateDynamoWorkload({ rng, on, ...(focus === undefined ? {} : { focus }) });
      shape = w.shape;
      return w;
    },
    async open(label, workload) {
      const s = shape;
      if (s === undefined) throw new Error("generate() must run before open()");
      const table = `fz_${label}`;
      await client.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: s.hashType }, ...(s.rangeType === undefined ? [] : [{ AttributeName: "sk", AttributeType: s.rangeType }])],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, ...(s.rangeType === undefined ? [] : [{ AttributeName: "sk", KeyType: "RANGE" as const }])],
          BillingMode: "PAY_PER_REQUEST",
          StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
        }),
      );
      const targetDb = await createTestDatabase(`fz_${label}_t`);
      const keyNames = s.rangeType === undefined ? ["pk"] : ["pk", "sk"];
      return {
        config: {
          source: { type: "dynamodb", table, region: local.region, endpoint: local.endpoint },
          target: { type: "postgres", url: targetDb.url, schema: "ddb" },
          ...(s.unnest === "none" ? {} : { mapping: { unnest: { mode: s.unnest } } }),
        },
        env: { AWS_ACCESS_KEY_ID: local.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: local.credentials.secretAccessKey },
        async execute(step) {
          const r = JSON.parse(step.text) as DynamoRequest;
          switch (r.op) {
            case "PutItem":
              await client.send(new PutItemCommand({ TableName: table, Item: toSdkItem(r.Item) }));
              return 1;
            case "DeleteItem":
              await client.send(new DeleteItemCommand({ TableName: table, Key: toSdkItem(r.Key) }));
              return 1;
            case "UpdateItem":
              await client.send(
                new UpdateItemCommand({
                  TableName: table,
                  Key: toSdkItem(r.Key),
                  UpdateExpression: r.UpdateExpression,
                  ExpressionAttributeNames: r.ExpressionAttributeNames,
                  ...(r.ExpressionAttributeValues === undefined ? {} : { ExpressionAttributeValues: toSdkItem(r.ExpressionAttributeValues) }),
                }),
              );
              return 1;
            case "BatchWriteItem": {
              let requests: WriteRequest[] = [...r.Puts.map((Item) => ({ PutRequest: { Item: toSdkItem(Item) } })), ...r.Deletes.map((Key) => ({ DeleteRequest: { Key: toSdkItem(Key) } }))];
              while (requests.length > 0) {
                const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
                requests = out.UnprocessedItems?.[table] ?? [];
              }
              return r.Puts.length + r.Deletes.length;
            }
          }
        },
        async compare() {
          const diffs: Difference[] = [];
          const sourceItems = new Map<string, Record<string, AttributeValue>>();
          let start: Record<string, AttributeValue> | undefined;
          do {
            const page = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
            for (const item of page.Items ?? []) sourceItems.set(JSON.stringify(keyNames.map((k) => keyText((item[k] ?? {}) as unknown as Record<string, unknown>))), item);
            start = page.LastEvaluatedKey;
          } while (start !== undefined);
          const target = await openReadClient(targetDb.url);
          let rows: ObjectTree[];
          try {
            rows = (await target.query<{ r: string }>(`SELECT to_jsonb(t)::text AS r FROM "ddb"."${table}" t`)).rows.map((row) => treeOf(row.r)).filter(isObject);
          } catch (error) {
            await target.end();
            return [{ table, key: "*", column: "*", source: `${sourceItems.size} items`, target: `cannot read: ${error instanceof Error ? error.message : String(error)}` }];
          }
          await target.end();
          const targetRows = new Map(rows.map((row) => [JSON.stringify(keyNames.map((k) => targetKeyText(row.object.get(k) ?? null))), row]));
          for (const [key, item] of sourceItems) {
            if (diffs.length >= 20) break;
            const row = targetRows.get(key);
            if (row === undefined) {
              diffs.push({ table, key, column: "*", source: "item", target: "no such row" });
              continue;
            }
            if (s.unnest === "none") {
              const expected = jsonTreeText(attributeTree({ M: item }));
              const actual = jsonTreeText(sortSetsLike(row.object.get("item") ?? null, { M: item }));
              if (expected !== actual) diffs.push({ table, key, column: "item", source: expected, target: actual });
              continue;
            }
            const expectedColumns = flattenItem(item, s.unnest);
            for (const [column, av] of expectedColumns) {
              const expected = jsonTreeText(attributeTree(av as unknown as Record<string, unknown>));
              // a NULL attribute creates no column (docs/mapping.md), so a missing column reads as null
              const actual = row.object.has(column) ? jsonTreeText(sortSetsLike(row.object.get(column) ?? null, av as unknown as Record<string, unknown>)) : expected === "null" ? "null" : "(no such column)";
              if (expected !== actual) diffs.push({ table, key, column, source: expected, target: actual });
            }
            for (const [column, v] of row.object) {
              if (column.startsWith("item__") && !expectedColumns.has(column) && v !== null) diffs.push({ table, key, column, source: "(attribute absent)", target: jsonTreeText(v) });
            }
          }
          for (const key of targetRows.keys()) if (!sourceItems.has(key) && diffs.length < 20) diffs.push({ table, key, column: "*", source: "no such item", target: "row" });
          // snapshot-versus-stream twins: the same attributes under two keys must land identically
          for (const [a, b] of workload.twins) {
            const keyOf = (k: string) => {
              const parsed = JSON.parse(k) as Record<string, WireValue>;
              return JSON.stringify(keyNames.map((n) => keyText(parsed[n] as WireValue)));
            };
            const strip = (row: ObjectTree | undefined) => {
              if (row === undefined) return "(missing)";
              const entries = [...row.object].filter(([c]) => !keyNames.includes(c) && !keyNames.some((k) => c === `item__${k}`) && !c.startsWith("_zeroetl"));
              return entries
                .map(([c, v]) => [c, c === "item" && isObject(v) ? { object: new Map([...v.object].filter(([k]) => !keyNames.includes(k))) } : v] as const)
                .map(([c, v]) => `${c}=${jsonTreeText(v)}`)
                .sort()
                .join(" ");
            };
            const x = strip(targetRows.get(keyOf(a)));
            const y = strip(targetRows.get(keyOf(b)));
            if (x !== y) diffs.push({ table: `${table} twins`, key: `${a} / ${b}`, column: "(whole row, snapshot vs stream)", source: x, target: y });
          }
          return diffs;
        },
        async close() {
          await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
          await targetDb.drop();
        },
      };
    },
  };
}
