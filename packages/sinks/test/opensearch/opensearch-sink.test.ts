import { createServer, request, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { ZeroEtlError } from "@zero-etl/core";
import type { ChangeEvent, PipelineCheckpoint, Sink, TableRef, TableSchema } from "@zero-etl/core";
import { createOpenSearchSink, documentVersionOf } from "@zero-etl/sinks/opensearch";
import { deleteIndices, openSearchRequest, openSearchUrl, readAllDocuments, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";

// The sink against the live node; documents read back with plain HTTP.
const prefix = uniqueIndexPrefix("sink");
const sinks: Sink[] = [];
const table: TableRef = { namespace: "shop", name: "Orders" };
const index = `${prefix}.shop.orders`;
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["region", "id"],
  columns: [
    { name: "region", type: { kind: "string", maxLength: 10 }, nullable: false },
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "total", type: { kind: "decimal", precision: 38, scale: 10 }, nullable: true },
    { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: true },
  ],
};

function newSink(): Sink {
  const sink = createOpenSearchSink({ node: openSearchUrl(), index: `${prefix}.{namespace}.{table}` });
  sinks.push(sink);
  return sink;
}

function checkpoint(position: string): PipelineCheckpoint {
  return { pipeline: `${prefix}_p`, phase: "streaming", position, tables: { "shop.Orders": { state: "streaming" } as never }, savedAt: "2026-01-02T03:04:05.678Z" };
}

const insert = (position: string, id: bigint, total: string, qty: number | null, region = "eu|west"): ChangeEvent => ({
  op: "insert",
  table,
  position,
  after: { region, id, total, qty },
});

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  await deleteIndices(prefix);
});

describe("opensearch sink", () => {
  it("derives versions that order PostgreSQL LSNs and MySQL binlog positions", () => {
    expect(documentVersionOf("0/16B3748")).toBe(0x16b3748n);
    expect(documentVersionOf("1/0")! > documentVersionOf("0/FFFFFFFF")!).toBe(true);
    expect(documentVersionOf("binlog.000002:4")! > documentVersionOf("binlog.000001:999999")!).toBe(true);
    expect(documentVersionOf("binlog.000001:120@3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")).toBe((1n << 32n) | 120n);
    expect(documentVersionOf("49590338271490256608559692538361571095921575989136588898")).toBeUndefined();
  });

  it("never lets a replayed older write take a document back, and keeps exact digits", async () => {
    const sink = newSink();
    expect(await sink.open({ pipeline: `${prefix}_p` })).toBeUndefined();
    await sink.prepare(schema);
    const first = await sink.write({
      events: [insert("0/100", 9223372036854775807n, "12345678901234567890123456.0123456789", 1), insert("0/110", 2n, "1.5", 2)],
    });
    expect(first.rejected).toEqual([]);
    await sink.write({ events: [{ op: "update", table, position: "0/200", key: { region: "eu|west", id: 2n }, after: { region: "eu|west", id: 2n, total: "2.5", qty: 3 } }] });
    // a replay of the older insert after a crash: a version conflict, counted as done
    const replay = await sink.write({ events: [insert("0/110", 2n, "1.5", 2)] });
    expect(replay).toEqual({ accepted: 1, rejected: [] });
    await sink.flush(checkpoint("0/200"));

    const documents = await readAllDocuments(index);
    expect(Object.fromEntries(documents)).toEqual({
      "eu\\|west|9223372036854775807": { region: "eu|west", id: "9223372036854775807", total: "12345678901234567890123456.0123456789", qty: 1 },
      "eu\\|west|2": { region: "eu|west", id: "2", total: "2.5", qty: 3 },
    });
    // the checkpoint lives in the target: a new sink finds it
    const reopened = newSink();
    expect(await reopened.open({ pipeline: `${prefix}_p` })).toEqual(checkpoint("0/200"));
  });

  it("sends a document the mapping refuses to the dead-letter queue, and the rest of the bulk lands", async () => {
    const sink = newSink();
    await sink.open({ pipeline: `${prefix}_q` });
    await sink.prepare(schema);
    const bad = { op: "insert", table, position: "0/300", after: { region: "eu", id: 3n, total: "1", qty: "not a number" as never } } as ChangeEvent;
    const receipt = await sink.write({ events: [insert("0/301", 4n, "4", 4, "eu"), bad, insert("0/302", 5n, "5", 5, "eu")] });
    expect(receipt.accepted).toBe(2);
    expect(receipt.rejected).toHaveLength(1);
    expect(receipt.rejected[0]?.event).toBe(bad);
    expect(receipt.rejected[0]?.reason).toMatch(/mapper_parsing_exception.*qty/);
    const ids = [...(await readAllDocuments(index)).keys()];
    expect(ids).toContain("eu|4");
    expect(ids).toContain("eu|5");
    expect(ids).not.toContain("eu|3");
  });

  it("extends the mapping for a new column, deletes by key, and drops the index", async () => {
    const sink = newSink();
    await sink.open({ pipeline: `${prefix}_r` });
    await sink.prepare(schema);
    const wider: TableSchema = { ...schema, version: 2, columns: [...schema.columns, { name: "note", type: { kind: "string" }, nullable: true }] };
    await sink.prepare(wider);
    const mapping = Object.values((await openSearchRequest("GET", `/${index}/_mapping`)).body as Record<string, any>)[0].mappings.properties;
    expect(mapping.note).toEqual({ type: "text", fields: { keyword: { type: "keyword", ignore_above: 256 } } });
    await sink.write({
      events: [
        { op: "insert", table, position: "0/400", after: { region: "eu", id: 6n, total: null, qty: null, note: "hello" } },
        { op: "delete", table, position: "0/401", key: { region: "eu", id: 4n } },
      ],
    });
    const documents = await readAllDocuments(index);
    expect(documents.get("eu|6")).toEqual({ region: "eu", id: "6", total: null, qty: null, note: "hello" });
    expect(documents.has("eu|4")).toBe(false);
    await sink.dropTable?.(table);
    expect((await openSearchRequest("HEAD", `/${index}`, undefined, [404])).status).toBe(404);
    await sink.dropTable?.(table);
  });

  it("rebuilds behind the alias: readers see the old index until the last snapshot chunk, then the new one", async () => {
    const rebuilt: TableRef = { namespace: "shop", name: "rebuilt" };
    const alias = `${prefix}.shop.rebuilt`;
    const own: TableSchema = { ...schema, table: rebuilt };
    const sink = newSink();
    await sink.open({ pipeline: `${prefix}_t` });
    await sink.prepare(own);
    await sink.resetTable(rebuilt);
    const row = (id: bigint, qty: number) => ({ region: "eu", id, total: "1", qty });
    await sink.writeSnapshot({ table: rebuilt, schema: own, rows: [row(1n, 1), row(2n, 1), row(3n, 1)], chunk: 0, last: true, rowsRead: 3 });
    expect([...(await readAllDocuments(alias)).keys()].sort()).toEqual(["eu|1", "eu|2", "eu|3"]);

    // a re-snapshot: the first chunk lands in a new index that readers do not see yet
    await sink.resetTable(rebuilt);
    await sink.writeSnapshot({ table: rebuilt, schema: own, rows: [row(1n, 2)], chunk: 0, last: false, rowsRead: 1 });
    const during = await readAllDocuments(alias);
    expect([...during.keys()].sort()).toEqual(["eu|1", "eu|2", "eu|3"]);
    expect(during.get("eu|1")?.qty).toBe(1);
    await sink.writeSnapshot({ table: rebuilt, schema: own, rows: [row(2n, 2)], chunk: 1, last: true, rowsRead: 2 });
    const after = await readAllDocuments(alias);
    expect(Object.fromEntries([...after].map(([id, d]) => [id, d.qty]))).toEqual({ "eu|1": 2, "eu|2": 2 });
    // one physical index is left behind the alias
    expect(Object.keys((await openSearchRequest("GET", `/${alias}/_alias`)).body)).toHaveLength(1);
    await sink.dropTable?.(rebuilt);
    expect((await openSearchRequest("HEAD", `/${alias}`, undefined, [404])).status).toBe(404);
  });

  it("backs off and retries a bulk refused with 429 or 503, and gives up with a retryable error after maxAttempts", async () => {
    // a proxy in front of the real node that refuses the first bulks as overloaded: the node cannot be made to on demand
    let refuse: number[] = [429, 429, 503];
    let bulks = 0;
    const proxy: Server = createServer((req, res) => {
      if (req.url?.startsWith("/_bulk") === true) {
        bulks++;
        const status = refuse.shift();
        if (status !== undefined) {
          req.resume();
          res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: { type: "es_rejected_execution_exception", reason: "busy" }, status }));
          return;
        }
      }
      const target = new URL(openSearchUrl());
      const forward = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    });
    await new Promise<void>((ready) => proxy.listen(0, "127.0.0.1", ready));
    try {
      const node = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const sink = createOpenSearchSink({ node, index: `${prefix}.{namespace}.{table}`, maxAttempts: 5 });
      sinks.push(sink);
      await sink.open({ pipeline: `${prefix}_s` });
      await sink.prepare(schema);
      expect(await sink.write({ events: [insert("0/500", 7n, "7", 7, "busy")] })).toEqual({ accepted: 1, rejected: [] });
      expect(bulks).toBe(4);
      expect((await readAllDocuments(index)).get("busy|7")).toEqual({ region: "busy", id: "7", total: "7", qty: 7 });

      refuse = Array.from({ length: 10 }, () => 429);
      const impatient = createOpenSearchSink({ node, index: `${prefix}.{namespace}.{table}`, maxAttempts: 2 });
      sinks.push(impatient);
      await impatient.open({ pipeline: `${prefix}_s` });
      await impatient.prepare(schema);
      const failed = await impatient.write({ events: [insert("0/501", 8n, "8", 8, "busy")] }).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(ZeroEtlError);
      expect((failed as ZeroEtlError).retryable).toBe(true);
      expect((failed as ZeroEtlError).message).toMatch(/HTTP 429/);
    } finally {
      await new Promise((done) => proxy.close(done));
    }
  });

  it("gives up on a node that never answers after timeouts.queryMs, with a retryable error", async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => void sockets.push(socket));
    await new Promise<void>((ready) => silent.listen(0, "127.0.0.1", ready));
    try {
      const node = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const sink = createOpenSearchSink({ node, timeouts: { queryMs: 200 }, maxAttempts: 2 });
      sinks.push(sink);
      const failed = await sink.open({ pipeline: `${prefix}_u` }).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(ZeroEtlError);
      expect((failed as ZeroEtlError).retryable).toBe(true);
      expect((failed as ZeroEtlError).message).toMatch(/open failed at 127\.0\.0\.1:\d+: request timed out/i);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => silent.close(done));
    }
  });

  it("takes a struct column again after a restart (the mapping read back has no type for objects)", async () => {
    const nested: TableRef = { namespace: "shop", name: "nested" };
    const withStruct: TableSchema = {
      table: nested,
      version: 1,
      primaryKey: ["id"],
      columns: [
        { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
        { name: "address", type: { kind: "struct", fields: [{ name: "city", type: { kind: "string" }, nullable: true }] }, nullable: true },
      ],
    };
    const first = newSink();
    await first.open({ pipeline: `${prefix}_v` });
    await first.prepare(withStruct);
    await first.write({ events: [{ op: "insert", table: nested, position: "0/600", after: { id: 1, address: { city: "Lyon" } } }] });
    const restarted = newSink();
    await restarted.open({ pipeline: `${prefix}_v` });
    await restarted.prepare(withStruct);
    await restarted.write({ events: [{ op: "insert", table: nested, position: "0/601", after: { id: 2, address: { city: "Oslo" } } }] });
    expect(Object.fromEntries(await readAllDocuments(`${prefix}.shop.nested`))).toEqual({ "1": { id: 1, address: { city: "Lyon" } }, "2": { id: 2, address: { city: "Oslo" } } });
  });
});
