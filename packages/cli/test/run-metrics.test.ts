import { spawnSync } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

const here = dirname(fileURLToPath(import.meta.url));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One sample of a Prometheus text exposition, by name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(",");
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = (m[2] ?? "")
      .split(/,(?=[a-z_]+=)/)
      .filter((s) => s !== "")
      .sort()
      .join(",");
    if (got === wanted) return Number(m[3]);
  }
  return undefined;
}

/** A stand-in CloudWatch endpoint: records each request, answers as CloudWatch's JSON protocol does. */
function cloudWatchRecorder(): Promise<{ server: Server; url: string; requests: { headers: IncomingHttpHeaders; body: string }[] }> {
  const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (d: Buffer) => (body += d.toString()));
    request.on("end", () => {
      requests.push({ headers: request.headers, body });
      response.writeHead(200, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "test" }).end("{}");
    });
  });
  return new Promise((ready) => server.listen(0, "127.0.0.1", () => ready({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })));
}

describe("zeroetl run --metrics-port and observability.cloudwatch, zeroetl status --json", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let recorder: Awaited<ReturnType<typeof cloudWatchRecorder>>;

  beforeAll(async () => {
    source = await createTestDatabase("metrics_src");
    target = await createTestDatabase("metrics_dst");
    recorder = await cloudWatchRecorder();
    await source.query(`
      CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2) NOT NULL, note text);
      CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO orders SELECT g, g * 1.5, 'order ' || g FROM generate_series(1, 500) g;
      INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 20) g;`);
  });

  afterAll(async () => {
    recorder?.server.close();
    await source?.drop();
    await target?.drop();
  });

  it("serves the run's metrics over HTTP while it streams, publishes them to CloudWatch, and status --json reports the tables", async () => {
    const { file } = await writeConfig({
      name: "metrics_pg",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
      observability: { cloudwatch: { namespace: "ZeroEtl/Test", region: "eu-west-1", endpoint: recorder.url, intervalSeconds: 1 } },
    });
    expect((await runCli(["check", file, "--fix"])).code).toBe(0);
    const run = startCli(["run", file, "--metrics-port", "0"], { AWS_ACCESS_KEY_ID: "AKIDTEST", AWS_SECRET_ACCESS_KEY: "test-secret", AWS_SESSION_TOKEN: "" });
    let stderr = "";
    run.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const port = await waitFor("the metrics port", async () => /metrics on http:\/\/localhost:(\d+)\/metrics/.exec(stderr)?.[1]);
      const scrape = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
        return response.text();
      };
      const pipeline = "metrics_pg";
      // the snapshot, as scraped during the run
      const afterSnapshot = await waitFor("the snapshot's rows in /metrics", async () => {
        const text = await scrape();
        return sample(text, "zeroetl_rows_total", { pipeline, table: "public.orders", operation: "snapshot" }) === 500 &&
          sample(text, "zeroetl_table_state", { pipeline, table: "public.orders", state: "synced" }) === 1
          ? text
          : undefined;
      });
      expect(sample(afterSnapshot, "zeroetl_rows_total", { pipeline, table: "public.customers", operation: "snapshot" })).toBe(20);
      expect(sample(afterSnapshot, "zeroetl_table_state", { pipeline, table: "public.orders", state: "snapshotting" })).toBe(0);
      expect(sample(afterSnapshot, "zeroetl_snapshot_done", { pipeline, table: "public.orders" })).toBe(1);
      expect(sample(afterSnapshot, "zeroetl_snapshot_rows_read", { pipeline, table: "public.orders" })).toBe(500);
      expect(sample(afterSnapshot, "zeroetl_bytes_total", { pipeline, table: "public.orders", operation: "snapshot" })).toBeGreaterThan(0);
      for (const name of ["zeroetl_lag_seconds", "zeroetl_checkpoint_age_seconds", "zeroetl_checkpoints_total", "zeroetl_last_checkpoint_timestamp_seconds"]) {
        expect(sample(afterSnapshot, name, { pipeline }), name).toBeGreaterThanOrEqual(0);
      }
      expect(afterSnapshot).toMatch(/^# TYPE zeroetl_rows_total counter$/m);
      expect(afterSnapshot).toMatch(/^# TYPE zeroetl_lag_seconds gauge$/m);

      // live changes appear by operation
      await source.query(`INSERT INTO orders VALUES (501, 1, 'new'), (502, 2, 'new'); UPDATE orders SET note = 'changed' WHERE id <= 3; DELETE FROM orders WHERE id = 10`);
      const afterChanges = await waitFor("the changes in /metrics", async () => {
        const text = await scrape();
        return sample(text, "zeroetl_rows_total", { pipeline, table: "public.orders", operation: "delete" }) === 1 ? text : undefined;
      });
      expect(sample(afterChanges, "zeroetl_rows_total", { pipeline, table: "public.orders", operation: "insert" })).toBe(2);
      expect(sample(afterChanges, "zeroetl_rows_total", { pipeline, table: "public.orders", operation: "update" })).toBe(3);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);

      // status --json beside the live run, as a script reads it
      // (the shared server's WAL moves on with other databases' writes, so the log lag is "caught up" or a few bytes)
      const json = await waitFor("status --json with the changes", async () => {
        const status = await runCli(["status", file, "--json"]);
        expect(status.code, status.stderr).toBe(0);
        const report = JSON.parse(status.stdout) as { caughtUp: boolean; run: { pid: number; lagSeconds?: number } | null; tables: { table: string; state: string; rows: number; lag: string | null }[] };
        return report.tables.find((t) => t.table === "public.orders")?.rows === 506 ? report : undefined;
      });
      expect(json.run?.pid).toBe(run.pid);
      expect(typeof json.run?.lagSeconds).toBe("number");
      expect(json.tables).toEqual([
        expect.objectContaining({ table: "public.customers", state: "synced", rows: 20, lag: expect.stringMatching(/^(caught up|\d+ bytes of WAL)$/), lastError: null }),
        expect.objectContaining({ table: "public.orders", state: "synced", rows: 506, lag: expect.stringMatching(/^(caught up|\d+ bytes of WAL)$/), lastError: null }),
      ]);
      await waitFor("a CloudWatch publication with rows", async () => (recorder.requests.some((r) => r.body.includes('"rows"')) ? true : undefined));
    } finally {
      run.kill("SIGTERM");
    }
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    // the endpoint went away with the run
    const port = /metrics on http:\/\/localhost:(\d+)/.exec(result.stderr)?.[1];
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();

    // the CloudWatch requests, checked against botocore's model of the API
    expect(recorder.requests.length).toBeGreaterThan(0);
    for (const r of recorder.requests) {
      expect(r.headers["content-type"]).toBe("application/x-amz-json-1.0");
      expect(r.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/monitoring\/aws4_request, /);
      expect(r.body).not.toContain("test-secret");
    }
    const checked = spawnSync("python3", [join(here, "support/botocore-check.py")], {
      input: JSON.stringify(recorder.requests.map((r) => ({ target: r.headers["x-amz-target"], body: r.body }))),
      encoding: "utf8",
    });
    expect(checked.status, checked.stderr).toBe(0);
    const decoded = JSON.parse(checked.stdout) as { ok: boolean; problems: string[]; data: { namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[]; Value: number; Unit: string }[] };
    expect(decoded.problems).toEqual([]);
    const published = decoded.data;
    expect(new Set(published.map((d) => d.namespace))).toEqual(new Set(["ZeroEtl/Test"]));
    const sum = (name: string, table?: string) =>
      published
        .filter((d) => d.MetricName === name && d.Dimensions.some((x) => x.Name === "Pipeline" && x.Value === "metrics_pg") && (table === undefined ? d.Dimensions.length === 1 : d.Dimensions.some((x) => x.Name === "Table" && x.Value === table)))
        .reduce((a, d) => a + d.Value, 0);
    // every row counted exactly once across the publications: 500 + 20 snapshot, 2 + 3 + 1 changes
    expect(sum("rows", "public.orders")).toBe(506);
    expect(sum("rows", "public.customers")).toBe(20);
    expect(sum("rows")).toBe(526);
    expect(sum("errors")).toBe(0);
    expect(published.filter((d) => d.MetricName === "lag").every((d) => d.Unit === "Seconds" && d.Value >= 0)).toBe(true);
    expect(published.some((d) => d.MetricName === "checkpoint_age")).toBe(true);
  }, 120_000);
});

