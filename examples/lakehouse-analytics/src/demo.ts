/**
 * `pnpm --filter @zero-etl/example-lakehouse-analytics demo`: DynamoDB
 * orders land in an Iceberg table (items unnested into columns, partitioned
 * by order day), and DuckDB reports over the files of the table's current
 * snapshot; the report changes after orders change.
 *
 * 1. DynamoDB Local with an `orders` table (partition key `order_day`, sort key `order_id`, nested `customer` map, `lines` list);
 * 2. `zeroetl run --until-caught-up` into a filesystem Iceberg warehouse;
 * 3. a DuckDB report (revenue per day) over the current snapshot's Parquet files, equality deletes applied;
 * 4. new, changed and deleted orders, the pipeline again, the report again;
 * 5. the report checked against a Scan of the DynamoDB table.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BatchWriteItemCommand, CreateTableCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { heading, repositoryRoot, startDynamoDbLocal, timed, zeroetl } from "@zero-etl/example-harness";
import { currentSnapshotFiles } from "./iceberg-snapshot-files.js";

const orders = Number(process.env.ZETL_DEMO_ORDERS ?? 2_000);
const workDir = join(repositoryRoot, ".zero-etl", "lakehouse");
const warehouse = join(workDir, "warehouse");
const days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"];
const sql = (text: string) => `'${text.replace(/'/g, "''")}'`;

function order(i: number, day: string): Record<string, AttributeValue> {
  return {
    order_day: { S: day },
    order_id: { S: `o-${String(i).padStart(6, "0")}` },
    status: { S: i % 4 === 0 ? "shipped" : "paid" },
    total: { N: ((i % 97) * 3.25 + 10).toFixed(2) },
    customer: { M: { id: { S: `c-${i % 50}` }, tier: { S: i % 7 === 0 ? "gold" : "standard" }, address: { M: { city: { S: ["Lyon", "Oslo", "Porto"][i % 3] ?? "Lyon" } } } } },
    lines: { L: [{ M: { sku: { S: `sku-${i % 7}` }, qty: { N: String(1 + (i % 3)) } } }] },
  };
}

/** Revenue per day from the Iceberg table's current snapshot, read with DuckDB straight from the Parquet files. */
async function report(duck: DuckDBConnection, location: string): Promise<{ lines: string[]; byDay: Map<string, [number, string]> }> {
  const { snapshotId, files } = await currentSnapshotFiles(location);
  const data = files.filter((f) => f.content === 0);
  const deletes = files.filter((f) => f.content === 2);
  if (files.some((f) => f.content === 1)) throw new Error("position delete files: not handled by this report");
  await duck.run(`CREATE OR REPLACE TABLE files (path VARCHAR, seq BIGINT)`);
  await duck.run(`INSERT INTO files VALUES ${files.map((f) => `(${sql(f.path)}, ${f.sequence})`).join(", ")}`);
  const list = (fs: typeof files) => `[${fs.map((f) => sql(f.path)).join(", ")}]`;
  // an equality delete removes the rows with its key from files of an older sequence number
  const notDeleted =
    deletes.length === 0
      ? ""
      : `WHERE NOT EXISTS (SELECT 1 FROM read_parquet(${list(deletes)}, filename = true) x JOIN files g ON g.path = x.filename
                         WHERE x.order_day = d.order_day AND x.order_id = d.order_id AND g.seq > f.seq)`;
  await duck.run(`CREATE OR REPLACE VIEW live_orders AS
    SELECT d.* FROM read_parquet(${list(data)}, filename = true, union_by_name = true) d JOIN files f ON f.path = d.filename ${notDeleted}`);
  const rows = (
    await duck.runAndReadAll(`
      SELECT order_day, count(*)::INTEGER AS orders, CAST(sum(CAST(item__total AS DECIMAL(14,2))) AS VARCHAR) AS revenue,
             count(*) FILTER (WHERE item__status = 'shipped')::INTEGER AS shipped,
             count(*) FILTER (WHERE item__customer__tier = 'gold')::INTEGER AS gold
      FROM live_orders GROUP BY order_day ORDER BY order_day`)
  ).getRowObjectsJS() as { order_day: string; orders: number; revenue: string; shipped: number; gold: number }[];
  const partitions = new Set(data.map((f) => JSON.stringify(f.partition))).size;
  const lines = [
    `snapshot ${snapshotId}: ${data.length} data files in ${partitions} day partitions, ${deletes.length} equality delete file${deletes.length === 1 ? "" : "s"}`,
    `day         orders   revenue  shipped  gold customers`,
    ...rows.map((r) => `${r.order_day}  ${String(r.orders).padStart(6)}  ${r.revenue.padStart(8)}  ${String(r.shipped).padStart(7)}  ${String(r.gold).padStart(4)}`),
  ];
  return { lines, byDay: new Map(rows.map((r) => [r.order_day, [r.orders, r.revenue]])) };
}

/** The same figures from a Scan of the DynamoDB table. */
async function fromDynamoDb(client: DynamoDBClient): Promise<Map<string, [number, string]>> {
  const cents = new Map<string, [number, bigint]>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: "orders", ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
    for (const item of page.Items ?? []) {
      const day = item.order_day?.S ?? "";
      const [n, c] = cents.get(day) ?? [0, 0n];
      cents.set(day, [n + 1, c + BigInt(Math.round(Number(item.total?.N ?? "0") * 100))]);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return new Map([...cents].map(([day, [n, c]]) => [day, [n, `${c / 100n}.${String(c % 100n).padStart(2, "0")}`]]));
}

async function main(): Promise<void> {
  const ddb = await startDynamoDbLocal();
  process.env.AWS_ACCESS_KEY_ID = ddb.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = ddb.credentials.secretAccessKey;
  const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: ddb.region, credentials: ddb.credentials });
  const duck = await (await DuckDBInstance.create(":memory:")).connect();
  try {
    await client.send(
      new CreateTableCommand({
        TableName: "orders",
        AttributeDefinitions: [{ AttributeName: "order_day", AttributeType: "S" }, { AttributeName: "order_id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "order_day", KeyType: "HASH" }, { AttributeName: "order_id", KeyType: "RANGE" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
      }),
    );
    for (let i = 0; i < orders; i += 25) {
      const batch = Array.from({ length: Math.min(25, orders - i) }, (_, k) => ({ PutRequest: { Item: order(i + k + 1, days[(i + k) % days.length] ?? "2026-03-01") } }));
      await client.send(new BatchWriteItemCommand({ RequestItems: { orders: batch } }));
    }
    console.log(`DynamoDB Local ${ddb.endpoint}: ${orders.toLocaleString("en")} orders over ${days.length} days (customer map with a nested address, a list of lines)`);

    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const config = join(workDir, "pipeline.json");
    await writeFile(
      config,
      JSON.stringify(
        {
          name: "lakehouse_demo",
          source: { type: "dynamodb", table: "orders", region: ddb.region, endpoint: ddb.endpoint },
          target: { type: "iceberg", warehouse, namespace: "lake", partitionSpec: { orders: [{ column: "order_day", transform: "identity" }] } },
          mapping: { unnest: { mode: "all" } },
          state: { dir: join(workDir, "state") },
          log: { level: "warn" },
        },
        null,
        2,
      ),
    );
    const location = join(warehouse, "lake", "orders");
    const run = async (): Promise<number> => {
      const [code, seconds] = await timed(() => zeroetl(["run", config, "--until-caught-up"], { quiet: true }).exited);
      if (code !== 0) throw new Error(`zeroetl run exited with ${code}`);
      return seconds;
    };

    heading(`zeroetl run ${config} --until-caught-up`);
    console.log(`snapshot and commit: ${(await run()).toFixed(1)} s`);
    heading("DuckDB over the current snapshot's files");
    const before = await report(duck, location);
    for (const line of before.lines) console.log(line);

    heading("orders change at the source");
    await client.send(new PutItemCommand({ TableName: "orders", Item: order(orders + 1, "2026-03-06") }));
    await client.send(new PutItemCommand({ TableName: "orders", Item: order(orders + 2, "2026-03-06") }));
    for (const id of [1, 2, 3]) {
      await client.send(
        new UpdateItemCommand({
          TableName: "orders",
          Key: { order_day: { S: days[(id - 1) % days.length] ?? "" }, order_id: { S: `o-${String(id).padStart(6, "0")}` } },
          UpdateExpression: "SET #s = :s, #t = :t",
          ExpressionAttributeNames: { "#s": "status", "#t": "total" },
          ExpressionAttributeValues: { ":s": { S: "shipped" }, ":t": { N: "1000.00" } },
        }),
      );
    }
    for (const id of [4, 5]) {
      await client.send(new DeleteItemCommand({ TableName: "orders", Key: { order_day: { S: days[(id - 1) % days.length] ?? "" }, order_id: { S: `o-${String(id).padStart(6, "0")}` } } }));
    }
    console.log("2 new orders on 2026-03-06, 3 orders shipped with a new total (one each on 03-01..03-03), 2 deleted (03-04, 03-05)");

    heading("zeroetl run --until-caught-up (the stream since the checkpoint)");
    console.log(`changes committed: ${(await run()).toFixed(1)} s`);
    heading("DuckDB over the new current snapshot's files");
    const after = await report(duck, location);
    for (const line of after.lines) console.log(line);

    const truth = await fromDynamoDb(client);
    const same = truth.size === after.byDay.size && [...truth].every(([day, [n, revenue]]) => after.byDay.get(day)?.[0] === n && after.byDay.get(day)?.[1] === revenue);
    console.log(`\nreport equals a Scan of the DynamoDB table (orders and revenue per day): ${same ? "yes" : "NO"}`);
    console.log(`the Iceberg table is ${location}`);
    if (!same) process.exitCode = 1;
  } finally {
    duck.closeSync();
    client.destroy();
    await ddb.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
