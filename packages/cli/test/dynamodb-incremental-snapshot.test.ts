import { BatchWriteItemCommand, CreateTableCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../../test-support/dynamodb-local.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

/** Polls `check` until it returns true (generous: the suite runs in parallel on 2 cores); no timing is asserted. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const key = (i: number) => `k#${String(i).padStart(5, "0")}`;

// DynamoDB (Local, with Streams) -> PostgreSQL through the CLI, snapshot.mode "incremental": Scan pages bracketed by
// stream-position watermarks while the stream runs. Both sides are read independently: a plain consistent Scan of
// the source, plain SQL on the target.
describe("incremental snapshots of DynamoDB (-> PostgreSQL, through the CLI)", () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let target: TestDatabase;
  let env: NodeJS.ProcessEnv;
  const suffix = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
    client = new DynamoDBClient({ endpoint: ddb.endpoint, region: ddb.region, credentials: ddb.credentials });
    env = { AWS_ACCESS_KEY_ID: ddb.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: ddb.credentials.secretAccessKey };
    target = await createTestDatabase("cli_ddb_incr");
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await ddb?.stop();
    await target?.drop();
  });

  async function createTable(name: string, items: number): Promise<void> {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
      }),
    );
    for (let from = 1; from <= items; from += 25) {
      const requests = [];
      for (let i = from; i < from + 25 && i <= items; i++) requests.push({ PutRequest: { Item: { pk: { S: key(i) }, n: { N: String(i) }, v: { S: `row ${i}` } } } });
      await client.send(new BatchWriteItemCommand({ RequestItems: { [name]: requests } }));
    }
  }

  /** The source, by a plain strongly consistent Scan: pk -> `n|v`. */
  async function sourceRows(name: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: name, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
      for (const item of page.Items ?? []) out[item.pk?.S ?? "?"] = `${item.n?.N ?? "-"}|${item.v?.S ?? "-"}`;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /** The target, by plain SQL on the item documents: pk -> `n|v`. */
  async function targetRows(schema: string, name: string): Promise<Record<string, string>> {
    const exists = await target.query(`SELECT to_regclass($1) IS NOT NULL AS there`, [`"${schema}"."${name}"`]);
    if (exists.rows[0]?.there !== true) return {};
    const result = await target.query(`SELECT pk, item->>'n' AS n, item->>'v' AS v FROM "${schema}"."${name}"`);
    const out: Record<string, string> = {};
    for (const row of result.rows as { pk: string; n: string | null; v: string | null }[]) out[row.pk] = `${row.n ?? "-"}|${row.v ?? "-"}`;
    return out;
  }

  /** The table's keys in the order a plain Scan returns them. */
  async function scanOrder(name: string): Promise<string[]> {
    const out: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: name, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
      for (const item of page.Items ?? []) out.push(item.pk?.S ?? "?");
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  async function tableProgress(schema: string, pipeline: string, table: string): Promise<{ state?: string; incremental?: { chunks: number; cursor?: string } }> {
    const exists = await target.query(`SELECT to_regclass($1) IS NOT NULL AS there`, [`"${schema}"._zeroetl_checkpoints`]);
    if (exists.rows[0]?.there !== true) return {};
    const result = await target.query(`SELECT checkpoint -> 'tables' -> $2::text AS status FROM "${schema}"._zeroetl_checkpoints WHERE pipeline = $1`, [pipeline, table]);
    return (result.rows[0]?.status ?? {}) as { state?: string; incremental?: { chunks: number; cursor?: string } };
  }

  it("snapshots a table incrementally under continuous puts, updates and deletes and ends equal to the source", async () => {
    const name = `live_${suffix}`;
    const items = 400;
    await createTable(name, items);
    const { file } = await writeConfig({
      name: "ddb_incr_live",
      source: { type: "dynamodb", table: name, region: "us-east-1", endpoint: ddb.endpoint },
      target: { type: "postgres", url: target.url, schema: "ddbi" },
      snapshot: { mode: "incremental", chunkRows: 40 },
      // a flush per chunk: the chunks land one by one while the writes go on
      batch: { maxRows: 20 },
      log: { level: "info" },
    });

    // writes over the whole key space (chunks read, being read and not read yet), and new keys, until told to stop
    let writing = true;
    let writes = 0;
    let writesWhileSnapshotting = 0;
    let snapshotting = false;
    let next = items + 1;
    const writer = (async () => {
      for (let round = 0; writing; round++) {
        const i = 1 + ((round * 379) % items);
        if (round % 5 === 0) await client.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: key(i) } } }));
        else if (round % 5 === 1) await client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: key(next++) }, n: { N: String(-round) }, v: { S: "new" } } }));
        else if (round % 5 === 2) await client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: key(i) }, n: { N: String(round) }, v: { S: "put again" } } }));
        else await client.send(new UpdateItemCommand({ TableName: name, Key: { pk: { S: key(i) } }, UpdateExpression: "SET n = :n, v = :v", ExpressionAttributeValues: { ":n": { N: String(round) }, ":v": { S: `updated ${round}` } } }));
        writes++;
        if (snapshotting) writesWhileSnapshotting++;
      }
    })();

    const run = startCli(["run", file], env);
    try {
      const table = `us-east-1.${name}`;
      // the snapshot goes on in chunks beside the stream, while the writer writes
      await until("the first chunk", async () => ((await tableProgress("ddbi", "ddb_incr_live", table)).incremental?.chunks ?? 0) >= 1);
      snapshotting = true;
      await until("the snapshot to finish", async () => (await tableProgress("ddbi", "ddb_incr_live", table)).state === "synced", 120_000);
      snapshotting = false;
      writing = false;
      await writer;
      expect(writes).toBeGreaterThan(0);
      expect(writesWhileSnapshotting).toBeGreaterThan(0);
      const expected = await sourceRows(name);
      let seen: Record<string, string> = {};
      await until("the target to equal the source", async () => {
        seen = await targetRows("ddbi", name);
        return JSON.stringify(Object.entries(seen).sort()) === JSON.stringify(Object.entries(expected).sort());
      }).catch(() => undefined);
      expect(Object.entries(seen).sort()).toEqual(Object.entries(expected).sort());
    } finally {
      writing = false;
      await writer.catch(() => undefined);
      run.kill("SIGTERM");
      await run.result;
    }
    const result = await run.result;
    const applied = result.stderr.split("\n").filter((line) => line.includes("incremental snapshot chunk applied"));
    expect(applied.length).toBeGreaterThan(1);
    expect(result.stderr).toMatch(/"msg":"incremental snapshot finished"/);
  }, 240_000);

  it("resumes an incremental snapshot killed with SIGKILL from its last durable chunk, with the same result", async () => {
    const name = `crash_${suffix}`;
    await createTable(name, 400);
    const table = `us-east-1.${name}`;
    const { file } = await writeConfig({
      name: "ddb_incr_crash",
      source: { type: "dynamodb", table: name, region: "us-east-1", endpoint: ddb.endpoint },
      target: { type: "postgres", url: target.url, schema: "ddbk" },
      snapshot: { mode: "incremental", chunkRows: 40 },
      // a flush per chunk, so that the kill finds the snapshot unfinished however fast it runs
      batch: { maxRows: 20 },
      log: { level: "info" },
    });
    // killed at the first checkpoint saved after the third chunk was applied
    const killed = await runCli(["run", file, "--until-caught-up"], { ...env, ZEROETL_TEST_KILL_AFTER: `snapshot-progress:table=${table},rowsRead=120>checkpoint` });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    // the incremental snapshot's start takes the stream's position only: no full Scan before the chunks
    expect(killed.stderr).not.toMatch(/"msg":"dynamodb scan started"/);
    const durable = await tableProgress("ddbk", "ddb_incr_crash", table);
    expect(durable.state).toBe("snapshotting");
    const chunksDone = durable.incremental?.chunks ?? 0;
    expect(chunksDone).toBeGreaterThanOrEqual(2);
    expect(chunksDone).toBeLessThan(10);
    expect(durable.incremental?.cursor).toBeDefined();
    // the progress is visible while the pipeline is down, from the checkpoint (DescribeTable's ItemCount: 400 / 40)
    const status = await runCli(["status", file], env);
    expect(status.stdout).toMatch(new RegExp(`${table.replace(/\./g, "\\.")}\\s+snapshotting \\(chunk ${chunksDone} of ~10\\)`));

    // changes while the pipeline is down, of rows whose chunks were read and of rows not read yet: the Scan's own
    // order, read independently, tells which keys lie before the durable cursor (the target holds every row already,
    // as the stream replays the table's writes from the stream's start)
    const cursorKey = (JSON.parse(durable.incremental?.cursor ?? "{}") as { pk?: { S?: string } }).pk?.S;
    const order = await scanOrder(name);
    const at = order.indexOf(cursorKey ?? "");
    expect(at).toBeGreaterThan(0);
    const readKeys = [order[0], order[1], order[at]];
    const unread = [order[at + 1], order[at + 2], order[order.length - 1]];
    for (const k of [readKeys[0], readKeys[2], unread[0], unread[2]]) await client.send(new UpdateItemCommand({ TableName: name, Key: { pk: { S: k as string } }, UpdateExpression: "SET v = :v", ExpressionAttributeValues: { ":v": { S: "changed" } } }));
    for (const k of [readKeys[1], unread[1]]) await client.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: k as string } } }));
    await client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: "k#late" }, n: { N: "7" }, v: { S: "late" } } }));

    const resumed = await runCli(["run", file, "--until-caught-up"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    // it read on from the durable chunk: no chunk before it was read again
    const resumedLine = resumed.stderr.split("\n").find((line) => line.includes("incremental snapshot resumed"));
    expect(resumedLine).toBeDefined();
    expect(JSON.parse(resumedLine ?? "{}")).toMatchObject({ table, chunksDone });
    expect(resumed.stderr).not.toMatch(/"msg":"incremental snapshot started"/);
    const chunkNumbers = resumed.stderr
      .split("\n")
      .filter((line) => line.includes("incremental snapshot chunk applied"))
      .map((line) => (JSON.parse(line) as { chunk: number }).chunk);
    expect(chunkNumbers[0]).toBe(chunksDone + 1);

    const expected = await sourceRows(name);
    expect(Object.keys(expected)).toHaveLength(400 - 2 + 1);
    expect(Object.entries(await targetRows("ddbk", name)).sort()).toEqual(Object.entries(expected).sort());
    expect((await tableProgress("ddbk", "ddb_incr_crash", table)).state).toBe("synced");
  }, 240_000);

  it("refuses to signal a running pipeline from another process, naming why, and changes nothing; with the run stopped, resync reads the table incrementally", async () => {
    const name = `signal_${suffix}`;
    await createTable(name, 50);
    const table = `us-east-1.${name}`;
    const { file } = await writeConfig({
      name: "ddb_incr_signal",
      source: { type: "dynamodb", table: name, region: "us-east-1", endpoint: ddb.endpoint },
      target: { type: "postgres", url: target.url, schema: "ddbs" },
      snapshot: { mode: "incremental", chunkRows: 40 },
      log: { level: "info" },
    });
    const run = startCli(["run", file], env);
    try {
      await until("the snapshot to finish", async () => (await tableProgress("ddbs", "ddb_incr_signal", table)).state === "synced", 120_000);
      const resync = await runCli(["resync", file, table], env);
      expect(resync.code).toBe(3);
      expect(resync.stderr).toMatch(/cannot be signalled from another process/);
      expect((await tableProgress("ddbs", "ddb_incr_signal", table)).state).toBe("synced");
    } finally {
      run.kill("SIGTERM");
      await run.result;
    }
    // with the run stopped, resync marks the table and its run reads it again in chunks beside the stream
    await client.send(new UpdateItemCommand({ TableName: name, Key: { pk: { S: key(7) } }, UpdateExpression: "SET v = :v", ExpressionAttributeValues: { ":v": { S: "after the run" } } }));
    const resync = await runCli(["resync", file, table], env);
    expect(resync.code, resync.stderr).toBe(0);
    expect(resync.stdout).toMatch(/marked for resync/);
    expect(resync.stderr).toMatch(/"msg":"incremental snapshot chunk applied"/);
    expect((await tableProgress("ddbs", "ddb_incr_signal", table)).state).toBe("synced");
    expect(Object.entries(await targetRows("ddbs", name)).sort()).toEqual(Object.entries(await sourceRows(name)).sort());
  }, 240_000);
});
