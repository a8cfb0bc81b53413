import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedshiftDataApiRunner } from "../../src/redshift/index.js";

// The Data API client (the SDK's own serializers) against a local HTTP
// endpoint: the request bodies must have the documented shapes
// (awsJson1_1, X-Amz-Target RedshiftData.<Operation>), and a throttled
// request is retried.

interface Seen {
  readonly target: string;
  readonly body: Record<string, unknown>;
}

const seen: Seen[] = [];
/** Operation -> responses to give, in order (the last one repeats). */
const script = new Map<string, { status: number; body: unknown }[]>();
let server: Server;
let endpoint: string;

function respond(op: string, ...responses: { status: number; body: unknown }[]): void {
  script.set(op, responses);
}

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = "";
    req.on("data", (d: Buffer) => (data += d.toString()));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      seen.push({ target, body: JSON.parse(data || "{}") as Record<string, unknown> });
      const op = target.replace(/^RedshiftData\./, "");
      const queue = script.get(op) ?? [{ status: 200, body: {} }];
      const next = queue.length > 1 ? (queue.shift() as { status: number; body: unknown }) : (queue[0] as { status: number; body: unknown });
      res.writeHead(next.status, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret-example" };

describe("Data API runner wire shape", () => {
  it("runs a transaction as one BatchExecuteStatement (cluster + DbUser), retries a ThrottlingException, then polls DescribeStatement", async () => {
    seen.length = 0;
    respond("BatchExecuteStatement", { status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } }, { status: 200, body: { Id: "batch-1" } });
    respond("DescribeStatement", { status: 200, body: { Id: "batch-1", Status: "STARTED" } }, { status: 200, body: { Id: "batch-1", Status: "FINISHED" } });
    const runner = createRedshiftDataApiRunner({ clusterIdentifier: "dw-cluster", database: "dev", dbUser: "zeroetl", endpoint, region: "eu-west-1", credentials, backoffMs: 10 });
    await runner.transaction(['CREATE TEMP TABLE "s" (LIKE "public"."t")', 'DELETE FROM "public"."t"']);
    await runner.close();
    const batches = seen.filter((s) => s.target === "RedshiftData.BatchExecuteStatement");
    expect(batches).toHaveLength(2);
    const token = batches[0]?.body["ClientToken"];
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    expect(batches[1]?.body).toEqual({ ClusterIdentifier: "dw-cluster", Database: "dev", DbUser: "zeroetl", Sqls: ['CREATE TEMP TABLE "s" (LIKE "public"."t")', 'DELETE FROM "public"."t"'], ClientToken: token });
    const polls = seen.filter((s) => s.target === "RedshiftData.DescribeStatement");
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls[0]?.body).toEqual({ Id: "batch-1" });
  });

  it("runs a query as ExecuteStatement with named parameters (workgroup + SecretArn) and reads GetStatementResult pages", async () => {
    seen.length = 0;
    respond("ExecuteStatement", { status: 200, body: { Id: "q-1" } });
    respond("DescribeStatement", { status: 200, body: { Id: "q-1", Status: "FINISHED" } });
    respond(
      "GetStatementResult",
      { status: 200, body: { ColumnMetadata: [{ name: "body" }, { name: "part" }], Records: [[{ stringValue: '{"a":' }, { longValue: 0 }]], NextToken: "t2", TotalNumRows: 2 } },
      { status: 200, body: { ColumnMetadata: [{ name: "body" }, { name: "part" }], Records: [[{ stringValue: "1}" }, { isNull: true }]], TotalNumRows: 2 } },
    );
    const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rs-AbCdEf";
    const runner = createRedshiftDataApiRunner({ workgroupName: "dw-wg", database: "analytics", secretArn, endpoint, credentials });
    const rows = await runner.query('SELECT body, part FROM "public"."_zeroetl_checkpoints" WHERE pipeline = :pipeline ORDER BY part', { pipeline: "orders" });
    await runner.close();
    expect(rows).toEqual([
      { body: '{"a":', part: "0" },
      { body: "1}", part: null },
    ]);
    const execute = seen.find((s) => s.target === "RedshiftData.ExecuteStatement");
    expect(execute?.body).toEqual({
      WorkgroupName: "dw-wg",
      Database: "analytics",
      SecretArn: secretArn,
      Sql: 'SELECT body, part FROM "public"."_zeroetl_checkpoints" WHERE pipeline = :pipeline ORDER BY part',
      Parameters: [{ name: "pipeline", value: "orders" }],
      ClientToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const pages = seen.filter((s) => s.target === "RedshiftData.GetStatementResult").map((s) => s.body);
    expect(pages).toEqual([{ Id: "q-1" }, { Id: "q-1", NextToken: "t2" }]);
  });

  it("reports a failed statement with Redshift's error, and refuses what the API would (over 40 statements, over 100 KB)", async () => {
    respond("BatchExecuteStatement", { status: 200, body: { Id: "b-2" } });
    respond("DescribeStatement", { status: 200, body: { Id: "b-2", Status: "FAILED", Error: 'ERROR: relation "public.t" does not exist' } });
    const runner = createRedshiftDataApiRunner({ clusterIdentifier: "c", database: "dev", secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", endpoint, credentials });
    await expect(runner.transaction(['DELETE FROM "public"."t"'])).rejects.toThrow(/statement failed: ERROR: relation "public.t" does not exist/);
    await expect(runner.transaction(Array.from({ length: 41 }, () => "SELECT 1"))).rejects.toThrow(/at most 40/);
    await expect(runner.execute(`SELECT '${"x".repeat(110 * 1024)}'`)).rejects.toThrow(/exceeds the API's 100 KB/);
    await runner.close();
    expect(() => createRedshiftDataApiRunner({ database: "dev" })).toThrow(/exactly one of clusterIdentifier and workgroupName/);
  });
});
