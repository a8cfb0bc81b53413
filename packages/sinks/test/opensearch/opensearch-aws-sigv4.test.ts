import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { ChangeEvent, Logger, Sink, TableRef, TableSchema } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";
import { createOpenSearchSink } from "@zero-etl/sinks/opensearch";
import { deleteIndices, openSearchUrl, readAllDocuments, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";
import type { RecordedRequest, RecordingProxy } from "./recording-proxy.js";
import { startRecordingProxy } from "./recording-proxy.js";

// SigV4 (Amazon OpenSearch Service and Serverless) by request shape: the sink
// writes through a proxy that records the raw requests to the live node (which
// ignores the signature), and botocore, the AWS SDK for Python's signer,
// recomputes every signature from the recorded method, path, headers and body.
const prefix = uniqueIndexPrefix("sigv4");
const sinks: Sink[] = [];
const proxies: RecordingProxy[] = [];
const credentials = { accessKeyId: "AKIDEXAMPLEZEROETL01", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzeroetlSECRET", sessionToken: "FwoGZXIvYXdzEzeroetlSESSIONtoken//x" };
const table: TableRef = { namespace: "shop", name: "items" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "title", type: { kind: "string" }, nullable: true },
  ],
};
const insert = (position: string, id: bigint, title: string): ChangeEvent => ({ op: "insert", table, position, after: { id, title } });

function verify(service: string, requests: readonly RecordedRequest[]): { path: string; found?: string; expected?: string; error?: string; scope?: string; signedHeaders?: string[]; contentSha256Ok?: boolean }[] {
  const input = JSON.stringify({
    ...credentials,
    region: "eu-west-1",
    service,
    requests: requests.map((r) => ({ method: r.method, path: r.path, headers: r.headers, body: r.body.toString("base64") })),
  });
  const script = fileURLToPath(new URL("./verify-sigv4.py", import.meta.url));
  const run = spawnSync("python3", [script], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`verify-sigv4.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

function capturingLogger(lines: string[]): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), child: () => logger } as unknown as Logger;
  return logger;
}

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  for (const proxy of proxies) await proxy.close();
  await deleteIndices(prefix);
});

describe("opensearch sink with aws-sigv4 auth", () => {
  it("signs every request for es with credentials from the default chain; botocore recomputes each signature", async () => {
    // the AWS SDK's default chain reads the environment first
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    process.env.AWS_SESSION_TOKEN = credentials.sessionToken;
    const proxy = await startRecordingProxy(openSearchUrl());
    proxies.push(proxy);
    const lines: string[] = [];
    const sink = createOpenSearchSink({ node: proxy.url, index: `${prefix}.es.{table}`, auth: { type: "aws-sigv4", region: "eu-west-1", service: "es" }, logger: capturingLogger(lines) });
    sinks.push(sink);
    await sink.open({ pipeline: `${prefix}_es` });
    await sink.prepare(schema);
    const update: ChangeEvent = { op: "update", table, position: "0/30", key: { id: 1n }, after: { id: 11n, title: "moved, ü" } };
    expect(await sink.write({ events: [insert("0/10", 1n, "first"), insert("0/20", 2n, "second"), update] })).toEqual({ accepted: 3, rejected: [] });
    await sink.flush({ pipeline: `${prefix}_es`, phase: "streaming", position: "0/30", tables: {}, savedAt: "2026-12-07T00:00:00.000Z" });
    await sink.dropTable?.(table);

    const results = verify("es", proxy.requests);
    expect(results.length).toBeGreaterThanOrEqual(7);
    const methods = new Set(proxy.requests.map((r) => `${r.method} ${r.path.split("?")[0]?.split("/")[1] ?? ""}`));
    // the request kinds the sink sends: index checks, creation, mapping, bulk, checkpoint, alias listing, deletion
    expect([...methods].some((m) => m.startsWith("POST _bulk"))).toBe(true);
    expect(proxy.requests.some((r) => r.path.includes(",") && r.path.includes("_alias"))).toBe(true);
    for (const result of results) {
      expect(result.error, result.path).toBeUndefined();
      expect(result.found, `${result.path}`).toBe(result.expected);
      expect(result.scope).toMatch(/^AKIDEXAMPLEZEROETL01\/\d{8}\/eu-west-1\/es\/aws4_request$/);
      expect(result.signedHeaders).toEqual(expect.arrayContaining(["host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]));
      expect(result.contentSha256Ok, result.path).toBe(true);
    }
    // a body signed is a body sent: the bulk's content type and length are signed too
    const bulk = results.find((r) => r.path.startsWith("/_bulk"));
    expect(bulk?.signedHeaders).toEqual(expect.arrayContaining(["content-type", "content-length"]));

    // the verifier is not blind: a changed path or body no longer matches
    const first = proxy.requests.find((r) => r.path.startsWith("/_bulk")) as RecordedRequest;
    const [tamperedPath, tamperedBody] = verify("es", [
      { ...first, path: first.path.replace("_bulk", "_bulk?refresh=true") },
      { ...first, body: Buffer.concat([first.body, Buffer.from(" ")]) },
    ]);
    expect(tamperedPath?.found).not.toBe(tamperedPath?.expected);
    expect(tamperedBody?.contentSha256Ok).toBe(false);

    // the secret is never sent nor logged; the session token travels only in its own header
    for (const request of proxy.requests) {
      expect(request.body.toString("utf8")).not.toContain(credentials.secretAccessKey);
      for (const [name, value] of request.headers) {
        expect(value).not.toContain(credentials.secretAccessKey);
        if (name.toLowerCase() !== "x-amz-security-token") expect(value).not.toContain(credentials.sessionToken);
      }
    }
    expect(lines.join("\n")).not.toContain(credentials.secretAccessKey);
    expect(lines.join("\n")).not.toContain(credentials.sessionToken);
  });

  it("writes the documents through the signed client", async () => {
    const proxy = await startRecordingProxy(openSearchUrl());
    proxies.push(proxy);
    const sink = createOpenSearchSink({
      node: proxy.url,
      index: `${prefix}.docs.{table}`,
      auth: { type: "aws-sigv4", region: "eu-west-1", service: "es", credentials: async () => credentials },
    });
    sinks.push(sink);
    await sink.open({ pipeline: `${prefix}_docs` });
    await sink.prepare(schema);
    await sink.write({ events: [insert("0/10", 1n, "first"), insert("0/20", 2n, "second")] });
    expect(await readAllDocuments(`${prefix}.docs.items`)).toEqual(
      new Map([
        ["1", { id: "1", title: "first" }],
        ["2", { id: "2", title: "second" }],
      ]),
    );
    for (const result of verify("es", proxy.requests)) expect(result.found, result.path).toBe(result.expected);
  });

  it("on Serverless (aoss) signs with x-amz-content-sha256 and guards writes with the version stored in the document, not external versions", async () => {
    const proxy = await startRecordingProxy(openSearchUrl());
    proxies.push(proxy);
    const sink = createOpenSearchSink({
      node: proxy.url,
      index: `${prefix}.aoss.{table}`,
      stateIndex: `${prefix}_state`,
      auth: { type: "aws-sigv4", region: "eu-west-1", service: "aoss", credentials: async () => credentials },
    });
    sinks.push(sink);
    const preflight = await sink.preflight({ fix: false });
    expect(preflight.checks.map((c) => [c.id, c.ok])).toEqual([
      ["opensearch.reachable", true],
      ["opensearch.state_index", false],
      ["opensearch.index_template", false],
    ]);
    await sink.open({ pipeline: `${prefix}_aoss` });
    await sink.prepare(schema);
    const update: ChangeEvent = { op: "update", table, position: "0/30", key: { id: 1n }, after: { id: 11n, title: "moved" } };
    const remove: ChangeEvent = { op: "delete", table, position: "0/40", key: { id: 2n } };
    const receipt = await sink.write({ events: [insert("0/10", 1n, "first"), insert("0/20", 2n, "second"), update, remove] });
    await sink.flush({ pipeline: `${prefix}_aoss`, phase: "streaming", position: "0/40", tables: {}, savedAt: "2026-12-07T00:00:00.000Z" });

    for (const result of verify("aoss", proxy.requests)) {
      expect(result.error, result.path).toBeUndefined();
      expect(result.found, result.path).toBe(result.expected);
      expect(result.scope).toMatch(/\/eu-west-1\/aoss\/aws4_request$/);
      // Serverless refuses a request without the payload hash header
      expect(result.signedHeaders).toContain("x-amz-content-sha256");
      expect(result.contentSha256Ok, result.path).toBe(true);
    }
    // no GET / (a collection has none); indices created without shard settings, with the version field mapped
    expect(proxy.requests.some((r) => r.method === "GET" && r.path === "/")).toBe(false);
    const created = proxy.requests.filter((r) => r.method === "PUT" && r.path.startsWith(`/${prefix}`) && !r.path.includes("/_doc/")).map((r) => JSON.parse(r.body.toString("utf8")));
    expect(created.length).toBe(2);
    for (const body of created) expect(body.settings).toEqual({});
    expect(created.find((b) => b.mappings.properties.title !== undefined)?.mappings.properties.zeroetl_version).toEqual({ type: "long" });
    // the bulk: scripted updates carrying the position's version, never version_type
    const bulk = proxy.requests.find((r) => r.path.startsWith("/_bulk")) as RecordedRequest;
    const lines = bulk.body.toString("utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(bulk.body.toString("utf8")).not.toContain("version_type");
    const actions = lines.filter((_, i) => i % 2 === 0).map((a) => [Object.keys(a)[0], a.update._id]);
    expect(actions).toEqual([["update", "1"], ["update", "2"], ["update", "1"], ["update", "11"], ["update", "2"]]);
    const bodies = lines.filter((_, i) => i % 2 === 1);
    expect(bodies[0]).toMatchObject({ scripted_upsert: true, upsert: {}, script: { lang: "painless", params: { v: 0x10, doc: { id: "1", title: "first", zeroetl_version: 0x10 } } } });
    expect(bodies[0].script.source).toMatch(/v > params\.v\) \{ ctx\.op = 'none' \}/);
    expect(bodies[2]).toMatchObject({ script: { params: { v: 0x30 } } });
    expect(bodies[2].script.source).toContain("ctx.op = 'delete'");
    expect(bodies[2].upsert).toBeUndefined();
    expect(bodies[3]).toMatchObject({ scripted_upsert: true, script: { params: { v: 0x30, doc: { id: "11", title: "moved", zeroetl_version: 0x30 } } } });
    expect(bodies[4]).toMatchObject({ script: { params: { v: 0x40 } } });
    // the test node is OpenSearch's minimal distribution, without the lang-painless module: it refuses the scripts,
    // and the sink reports each refused write with the node's reason (the dead-letter path) instead of failing;
    // the guarded deletes find no document (404 document_missing_exception), which counts as done
    expect(receipt.rejected.map((r) => [r.event.position, r.reason])).toEqual(
      ["0/10", "0/20", "0/30"].map((position) => [position, expect.stringMatching(/script_lang not supported \[painless\]/)]),
    );
  });

  it("names the field of a bad auth option", () => {
    const bad = (auth: unknown): unknown => {
      try {
        createOpenSearchSink({ node: "https://search.example.com", auth: auth as never });
        return undefined;
      } catch (error) {
        return error;
      }
    };
    expect(bad({ type: "aws-sigv4" })).toBeInstanceOf(ConfigError);
    expect((bad({ type: "aws-sigv4" }) as Error).message).toMatch(/^target\.auth\.region: /);
    expect((bad({ type: "aws-sigv4", region: "Ireland" }) as Error).message).toMatch(/^target\.auth\.region: .*got Ireland/);
    expect((bad({ type: "aws-sigv4", region: "eu-west-1", service: "opensearch" }) as Error).message).toMatch(/^target\.auth\.service: /);
    expect((bad({ type: "kerberos" }) as Error).message).toMatch(/^target\.auth\.type: /);
    expect((bad({ username: "", password: "x" }) as Error).message).toMatch(/^target\.auth\.username: /);
  });
});
