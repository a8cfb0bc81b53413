import { afterAll, describe, expect, it } from "vitest";
import type { ChangeEvent, Sink, TableRef, TableSchema } from "@zero-etl/core";
import { createOpenSearchSink } from "@zero-etl/sinks/opensearch";
import { deleteIndices, openSearchUrl, readAllDocuments, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";
import type { RecordingProxy } from "./recording-proxy.js";
import { startRecordingProxy } from "./recording-proxy.js";

// Per-item overload: the node cannot be made to refuse one item of a bulk on demand, so a proxy in front of it
// rewrites the answer of a bulk that landed, turning one item's status into a 429 es_rejected_execution_exception.
const prefix = uniqueIndexPrefix("item429");
const sinks: Sink[] = [];
const proxies: RecordingProxy[] = [];
const table: TableRef = { namespace: "shop", name: "items" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "title", type: { kind: "string" }, nullable: true },
  ],
};
const insert = (position: string, id: number, title: string): ChangeEvent => ({ op: "insert", table, position, after: { id, title } });

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  for (const proxy of proxies) await proxy.close();
  await deleteIndices(prefix);
});

describe("opensearch sink: per-item 429", () => {
  it("retries only the items refused as overloaded, and the rest of the bulk stays written", async () => {
    const proxy = await startRecordingProxy(openSearchUrl());
    proxies.push(proxy);
    let rewrites = 0;
    proxy.rewrite = (request, status, body) => {
      if (!request.path.startsWith("/_bulk") || rewrites >= 2) return undefined;
      rewrites++;
      // the item of id 2 "refused": the node did write it, which the retry (a newer or equal version) absorbs
      const answer = JSON.parse(body.toString("utf8")) as { errors: boolean; items: { index: Record<string, unknown> }[] };
      const item = answer.items.find((i) => i.index._id === "2");
      if (item === undefined) return undefined;
      item.index = { _index: item.index._index, _id: "2", status: 429, error: { type: "es_rejected_execution_exception", reason: "rejected execution of coordinating operation" } };
      answer.errors = true;
      return { status, body: Buffer.from(JSON.stringify(answer)) };
    };
    const sink = createOpenSearchSink({ node: proxy.url, index: `${prefix}.{namespace}.{table}`, maxAttempts: 5 });
    sinks.push(sink);
    await sink.open({ pipeline: `${prefix}_p` });
    await sink.prepare(schema);
    const receipt = await sink.write({ events: [insert("0/10", 1, "one"), insert("0/20", 2, "two"), insert("0/30", 3, "three")] });
    expect(receipt).toEqual({ accepted: 3, rejected: [] });

    const bulks = proxy.requests.filter((r) => r.path.startsWith("/_bulk")).map((r) => r.body.toString("utf8").trim().split("\n").filter((_, i) => i % 2 === 0).map((line) => JSON.parse(line).index._id));
    // the whole bulk, then the refused item alone, twice (the second retry is answered as it is)
    expect(bulks).toEqual([["1", "2", "3"], ["2"], ["2"]]);
    expect(await readAllDocuments(`${prefix}.shop.items`)).toEqual(
      new Map([
        ["1", { id: 1, title: "one" }],
        ["2", { id: 2, title: "two" }],
        ["3", { id: 3, title: "three" }],
      ]),
    );
  });
});
