import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../../test-support/dynamodb-local.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// Schemaless DynamoDB items under unnest, DynamoDB Local -> PostgreSQL and ->
// Iceberg through the CLI, with a restart (a new `run --until-caught-up`)
// between the changes: attributes removed, paths that join to the same name,
// attributes changing type, every attribute shape the Streams API returns,
// and numbers no fixed decimal holds. PostgreSQL is read back with SQL,
// Iceberg with icebird (an independent merge-on-read reader).
describe("zeroetl with schemaless DynamoDB items under unnest", () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let target: TestDatabase;
  let warehouse: string;
  let env: NodeJS.ProcessEnv;
  let restoreFetch: () => void;
  const suffix = Math.random().toString(36).slice(2, 8);
  const table = `items_${suffix}`;
  const sorted = `sorted_${suffix}`;
  const big38 = "12345678901234567890123456789012345678";
  const tiny = "1E-130";
  const huge = "9.9999999999999999999999999999999999999E+125";

  const put = (name: string, item: Record<string, AttributeValue>) => client.send(new PutItemCommand({ TableName: name, Item: item }));
  const edgeItem = (pk: string): Record<string, AttributeValue> => ({
    pk: { S: pk },
    ns: { NS: [big38, "-0.5", tiny] },
    bs: { BS: [Uint8Array.of(1, 2), Uint8Array.of(0)] },
    l: { L: [{ NULL: true }, { N: "1" }, { M: {} }, { L: [] }] },
    em: { M: {} },
    el: { L: [] },
    tiny: { N: tiny },
    huge: { N: huge },
  });

  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
    client = new DynamoDBClient({ endpoint: ddb.endpoint, region: ddb.region, credentials: ddb.credentials });
    env = { AWS_ACCESS_KEY_ID: ddb.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: ddb.credentials.secretAccessKey };
    const stream = { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" as const };
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: stream,
      }),
    );
    await client.send(
      new CreateTableCommand({
        TableName: sorted,
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "N" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: stream,
      }),
    );
    await put(table, { pk: { S: "A" }, x: { S: "s" }, y: { S: "t" }, m: { M: { k: { S: "v" }, j: { S: "w" } } } });
    await put(table, { pk: { S: "C" }, a: { M: { b: { N: "2" } } }, a__b: { N: "3" } });
    await put(table, { pk: { S: "N" }, n: { N: "1" }, f: { N: "1500" }, o: { N: "1" } });
    await put(table, edgeItem("E"));
    for (const sk of [big38, tiny, huge, "-1"]) await put(sorted, { pk: { S: "p" }, sk: { N: sk }, v: { S: `v${sk}` } });
    target = await createTestDatabase("cli_ddb_schemaless");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-ddb-schemaless-"));
    restoreFetch = serveLocalFilesToFetch();
  }, 120_000);

  afterAll(async () => {
    restoreFetch?.();
    client?.destroy();
    await ddb?.stop();
    await target?.drop();
    if (warehouse !== undefined) await rm(warehouse, { recursive: true, force: true });
  });

  const source = (name: string) => ({ type: "dynamodb", table: name, region: "us-east-1", endpoint: ddb.endpoint });
  const modes = ["top-level", "all"] as const;
  const configs: { mode: (typeof modes)[number]; sink: "pg" | "lake"; file: string; schema: string }[] = [];

  // the four pipelines are independent (own target schema or namespace, own state): run them side by side
  const runAll = async (): Promise<void> => {
    const runs = await Promise.all(configs.map((config) => runCli(["run", config.file, "--until-caught-up"], env)));
    runs.forEach((run, i) => expect(run.code, `${configs[i]?.schema}: ${run.stderr}`).toBe(0));
  };
  const rowsOf = async (config: (typeof configs)[number]): Promise<Record<string, unknown>[]> => {
    if (config.sink === "pg") return (await target.query(`SELECT * FROM ${config.schema}.${table} ORDER BY pk`)).rows;
    const rows = (await icebergRead({ tableUrl: join(warehouse, config.schema, table) })) as Record<string, unknown>[];
    return rows.sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
  };
  const text = (value: unknown): unknown => (value === null || value === undefined ? null : typeof value === "object" ? JSON.stringify(value) : String(value));
  const json = (value: unknown): unknown => (value === null || value === undefined ? null : typeof value === "string" ? JSON.parse(value) : value);

  it("keeps every row equal to its item across restarts, removals, collisions and type changes", async () => {
    for (const mode of modes) {
      for (const sink of ["pg", "lake"] as const) {
        const schema = `${sink === "pg" ? "wh" : "lake"}_${mode.replace("-", "_")}`;
        const targetConfig = sink === "pg" ? { type: "postgres", url: target.url, schema } : { type: "iceberg", warehouse, namespace: schema };
        const { file } = await writeConfig({ name: schema, source: source(table), target: targetConfig, mapping: { unnest: { mode } } });
        configs.push({ mode, sink, file, schema });
      }
    }
    await runAll();

    // after the snapshot: removals, a wider number, edge shapes through the stream
    await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: "A" } }, UpdateExpression: "REMOVE y, m.k" }));
    await put(table, { pk: { S: "N" }, n: { N: "1.5" }, f: { N: "0.5" }, o: { M: { k: { N: "1" } } } });
    await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: [{ PutRequest: { Item: edgeItem("E2") } }, { PutRequest: { Item: { pk: { S: "C2" }, a: { M: { b: { N: "5" } } }, a__b: { N: "6" } } } }] } }));
    await runAll();

    // after another restart: a string, then narrower numbers into the widened columns
    await put(table, { pk: { S: "N" }, n: { S: "s" }, f: { N: "2" }, o: { M: { k: { N: "1" } } } });
    await put(table, { pk: { S: "N2" }, n: { N: "2" }, f: { N: "123456789012345678901234567890" }, o: { S: "x" } });
    await client.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: "E" } }, UpdateExpression: "SET tiny = :t", ExpressionAttributeValues: { ":t": { N: "7" } } }));
    await runAll();

    for (const config of configs) {
      const what = `${config.schema}`;
      const rows = await rowsOf(config);
      const row = (pk: string): Record<string, unknown> => {
        const found = rows.find((r) => r.pk === pk);
        expect(found, `${what}: row ${pk}`).toBeDefined();
        return found as Record<string, unknown>;
      };
      expect(rows.map((r) => r.pk), what).toEqual(["A", "C", "C2", "E", "E2", "N", "N2"]);
      // 1. an attribute absent from the item is NULL in its row, also after a restart
      expect(text(row("A").item__x), what).toBe("s");
      expect(row("A").item__y ?? null, what).toBeNull();
      if (config.mode === "all") {
        expect(row("A").item__m__k ?? null, what).toBeNull();
        expect(text(row("A").item__m__j), what).toBe("w");
      } else expect(json(row("A").item__m), what).toEqual({ j: "w" });
      // 2. two paths that join to one name keep two columns
      if (config.mode === "all") {
        const columns = Object.keys(row("C")).filter((c) => c.startsWith("item__a__b"));
        expect(columns, what).toHaveLength(2);
        expect(columns.map((c) => text(row("C")[c])).sort(), what).toEqual(["2", "3"]);
        expect(columns.map((c) => text(row("C2")[c])).sort(), what).toEqual(["5", "6"]);
        const nested = columns.find((c) => text(row("C")[c]) === "2") as string;
        expect(text(row("C2")[nested]), what).toBe("5");
      }
      // 3. type changes: the value of every row, whatever came before
      const value = (pk: string, attribute: string): unknown => {
        const r = row(pk);
        const names = Object.keys(r).filter((c) => c === `item__${attribute}` || c.startsWith(`item__${attribute}__v_`));
        const present = names.map((c) => r[c]).filter((v) => v !== null && v !== undefined);
        expect(present.length, `${what}: ${pk}.${attribute} in ${names.join(", ")}`).toBeLessThanOrEqual(1);
        return text(present[0]);
      };
      expect(value("N", "n"), what).toBe("s");
      expect(value("N2", "n"), what).toBe("2");
      expect(value("N", "f"), what).toBe("2");
      expect(value("N2", "f"), what).toBe("123456789012345678901234567890");
      // a number that became a map (bigint -> jsonb in PostgreSQL, a variant column in Iceberg), then a string
      expect(JSON.parse(String(value("N", "o"))), what).toEqual({ k: 1 });
      // the column holds JSON (jsonb in PostgreSQL, JSON text in Iceberg): the string "x" as JSON
      const decoded = (v: unknown): unknown => {
        try {
          return JSON.parse(String(v));
        } catch {
          return v;
        }
      };
      expect(decoded(value("N2", "o")), what).toBe("x");
      // 4. every attribute shape of the stream, and numbers no fixed decimal holds
      for (const pk of ["E", "E2"]) {
        expect(json(row(pk).item__ns), what).toEqual([-0.5, 1e-130, 1.2345678901234568e37]);
        expect(json(row(pk).item__bs), what).toEqual(["AA==", "AQI="]);
        expect(json(row(pk).item__l), what).toEqual([null, 1, {}, []]);
        expect(value(pk, "huge"), what).toBe(`99999999999999999999999999999999999999${"0".repeat(88)}`);
      }
      expect(value("E", "tiny"), what).toBe("7");
      expect(value("E2", "tiny"), what).toBe(`0.${"0".repeat(129)}1`);
      // exact digits of the number set, read as text
      if (config.sink === "pg") {
        const ns = (await target.query(`SELECT item__ns::text AS ns FROM ${config.schema}.${table} WHERE pk = 'E2'`)).rows[0]?.ns;
        expect(ns, what).toContain(big38);
      } else expect(String(row("E2").item__ns), what).toContain(big38);
    }
  }, 240_000);

  it("lands a table whose sort key is a number no fixed decimal holds", async () => {
    const { file } = await writeConfig({ name: "sorted_lake", source: source(sorted), target: { type: "iceberg", warehouse, namespace: "sorted_lake" } });
    const first = await runCli(["run", file, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
    await put(sorted, { pk: { S: "p" }, sk: { N: "-1E+125" }, v: { S: "streamed" } });
    const second = await runCli(["run", file, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    const rows = (await icebergRead({ tableUrl: join(warehouse, "sorted_lake", sorted) })) as Record<string, unknown>[];
    expect(rows.map((r) => String(r.sk)).sort()).toEqual([big38, `0.${"0".repeat(129)}1`, `99999999999999999999999999999999999999${"0".repeat(88)}`, "-1", `-1${"0".repeat(125)}`].sort());
  }, 120_000);
});
