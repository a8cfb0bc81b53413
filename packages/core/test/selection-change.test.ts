import { describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline, SelectionChanges, type ChangeBatch, type Source, type TableSchema, tableKey } from "@zero-etl/core";
import { createRecordingSink, createScriptedSource, type ScriptedSource } from "@zero-etl/core/testing";

const column = (name: string) => ({ name, type: { kind: "int" as const, bits: 64 as const, signed: true }, nullable: false });
const orders: TableSchema = { table: { namespace: "shop", name: "orders" }, version: 1, primaryKey: ["id"], columns: [column("id"), column("n")] };
const audit: TableSchema = { table: { namespace: "shop", name: "audit" }, version: 1, primaryKey: ["id"], columns: [column("id"), column("n")] };
const fastRetry = { maxAttempts: 3, maxElapsedMs: 60_000, baseDelayMs: 1, maxDelayMs: 2 };

/** The scripted source seen through a table selection the test changes, as the CLI's live filter does for a real source. */
function selecting(base: ScriptedSource, selected: Set<string>): Source {
  const isSelected = (ref: { namespace: string; name: string }) => selected.has(tableKey(ref));
  async function* filtered(batches: AsyncIterable<ChangeBatch>): AsyncGenerator<ChangeBatch> {
    for await (const batch of batches) yield { ...batch, events: batch.events.filter((event) => isSelected(event.table)) };
  }
  return {
    kind: base.kind,
    capabilities: base.capabilities,
    positions: base.positions,
    introspect: async (signal) => (await base.introspect(signal)).filter((schema) => isSelected(schema.table)),
    preflight: (options) => base.preflight(options),
    snapshot: async (options) => base.snapshot({ ...options, tables: options.tables ?? [orders, audit].map((s) => s.table).filter(isSelected) }),
    stream: (from, options) => filtered(base.stream(from, options)),
    acknowledge: (checkpoint) => base.acknowledge(checkpoint),
    currentPosition: () => base.currentPosition(),
    close: () => base.close(),
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("a running pipeline given a new table selection", () => {
  it("applies it at a checkpoint, reads the new table, keeps streaming the others, and leaves a refused change alone", async () => {
    const base = createScriptedSource({ schemas: [orders, audit], initialRows: { "shop.orders": [{ id: 1n, n: 1n }], "shop.audit": [{ id: 1n, n: 10n }, { id: 2n, n: 20n }] } });
    const selected = new Set(["shop.orders"]);
    const sink = createRecordingSink();
    const selectionChanges = new SelectionChanges();
    const controller = new AbortController();
    const run = runPipeline({ name: "p", source: selecting(base, selected), sink, checkpoints: createMemoryCheckpointStore(), retry: fastRetry, selectionChanges, signal: controller.signal });
    try {
      await until("the snapshot of orders", () => sink.rows("shop.orders").length === 1);
      base.append([{ op: "insert", table: orders.table, after: { id: 2n, n: 2n } }, { op: "update", table: audit.table, key: { id: 1n }, after: { id: 1n, n: 11n } }]);
      await until("orders streaming", () => sink.rows("shop.orders").length === 2);

      // refused: nothing changes, the stream goes on
      let refusedCalls = 0;
      selectionChanges.request({ apply: async () => (refusedCalls++, false) });
      await until("the refused change to be taken", () => refusedCalls === 1);
      base.append([{ op: "insert", table: orders.table, after: { id: 3n, n: 3n } }]);
      await until("orders streaming after the refusal", () => sink.rows("shop.orders").length === 3);
      expect(sink.rows("shop.audit")).toEqual([]);

      selectionChanges.request({
        apply: async () => {
          selected.add("shop.audit");
          return true;
        },
      });
      await until("audit to be read", () => sink.rows("shop.audit").length === 2);
      expect([...sink.rows("shop.audit")].sort((a, b) => Number(a.id) - Number(b.id))).toEqual([{ id: 1n, n: 11n }, { id: 2n, n: 20n }]);
      base.append([{ op: "insert", table: orders.table, after: { id: 4n, n: 4n } }, { op: "delete", table: audit.table, key: { id: 2n } }]);
      await until("both tables streaming", () => sink.rows("shop.orders").length === 4 && sink.rows("shop.audit").length === 1);
      expect(sink.rows("shop.audit")).toEqual([{ id: 1n, n: 11n }]);
    } finally {
      controller.abort();
    }
    const result = await run;
    expect(result.checkpoint.tables["shop.audit"]?.state).toBe("synced");
    expect(result.checkpoint.tables["shop.orders"]?.state).toBe("synced");
  });
});
