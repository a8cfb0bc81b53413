import { describe, expect, it, vi } from "vitest";
import {
  createMemoryCheckpointStore,
  createMemoryDeadLetterQueue,
  markForResync,
  runPipeline,
  type Sink,
  type TableSchema,
  ZeroEtlError,
} from "@zero-etl/core";
import { createFaultInjectingSink, createRecordingSink, createScriptedSource } from "@zero-etl/core/testing";

const orders: TableSchema = {
  table: { namespace: "shop", name: "orders" },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "status", type: { kind: "string" }, nullable: true },
  ],
};
const table = orders.table;
const fastRetry = { maxAttempts: 3, maxElapsedMs: 60_000, baseDelayMs: 1, maxDelayMs: 2 };

describe("runPipeline", () => {
  it("snapshots, streams until caught up, and acknowledges only what was flushed", async () => {
    const source = createScriptedSource({ schemas: [orders], initialRows: { "shop.orders": [{ id: 1n, status: "new" }, { id: 2n, status: "new" }] }, chunkRows: 1 });
    source.append([{ op: "update", table, key: { id: 1n }, after: { id: 1n, status: "paid" } }]);
    source.append([{ op: "delete", table, key: { id: 2n } }, { op: "insert", table, after: { id: 3n, status: "new" } }]);
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    expect(result.snapshotted).toBe(true);
    expect(sink.rows("shop.orders")).toEqual([{ id: 1n, status: "paid" }, { id: 3n, status: "new" }]);
    expect(result.checkpoint.position).toBe("2");
    expect((await checkpoints.load("p"))?.position).toBe("2");
    expect(source.acknowledged).toBe(2);
    expect(result.checkpoint.tables["shop.orders"]?.state).toBe("synced");
    expect(result.checkpoint.tables["shop.orders"]?.rows).toBe(2 + 1 + 2);
  });

  it("resumes from the checkpoint after a failed flush, losing and doubling nothing", async () => {
    const source = createScriptedSource({ schemas: [orders] });
    const checkpoints = createMemoryCheckpointStore();
    const durable = createRecordingSink();
    await runPipeline({ name: "p", source, sink: durable, checkpoints, untilCaughtUp: true, retry: fastRetry });

    source.append([{ op: "insert", table, after: { id: 10n, status: "a" } }]);
    source.append([{ op: "insert", table, after: { id: 11n, status: "b" } }]);
    const failing = createFaultInjectingSink(durable, [{ method: "flush", onCall: 1, times: 5, retryable: false }]);
    await expect(runPipeline({ name: "p", source, sink: failing, checkpoints, untilCaughtUp: true, retry: fastRetry })).rejects.toThrow(/injected flush fault/);
    durable.crash();
    expect(source.acknowledged).toBe(0);
    expect(durable.rows("shop.orders")).toEqual([]);

    const result = await runPipeline({ name: "p", source, sink: durable, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(result.snapshotted).toBe(false);
    expect(durable.rows("shop.orders").map((r) => r.id)).toEqual([10n, 11n]);
    expect(source.acknowledged).toBe(2);
  });

  it("retries retryable sink failures with back-off", async () => {
    const source = createScriptedSource({ schemas: [orders] });
    source.append([{ op: "insert", table, after: { id: 1n, status: "a" } }]);
    const sink = createFaultInjectingSink(createRecordingSink(), [{ method: "write", onCall: 1, times: 2, retryable: true }]);
    await runPipeline({ name: "p", source, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true, retry: fastRetry });
    expect(sink.calls.write).toBe(3);
  });

  it("sends records the sink rejects to the dead-letter queue with key, position and reason, and goes on", async () => {
    const source = createScriptedSource({ schemas: [orders] });
    source.append([
      { op: "insert", table, after: { id: 1n, status: "ok" } },
      { op: "insert", table, after: { id: 2n, status: "secret-bad-value" } },
    ]);
    const inner = createRecordingSink();
    const picky: Sink = {
      ...inner,
      async write(batch) {
        const good = batch.events.filter((e) => !(e.op === "insert" && e.after.status === "secret-bad-value"));
        const bad = batch.events.filter((e) => !good.includes(e));
        await inner.write({ events: good });
        return { accepted: good.length, rejected: bad.map((event) => ({ event, reason: "value too long for column status" })) };
      },
    };
    const dlq = createMemoryDeadLetterQueue();
    const result = await runPipeline({ name: "p", source, sink: picky, checkpoints: createMemoryCheckpointStore(), deadLetters: dlq, untilCaughtUp: true });
    expect(result.deadLetters).toBe(1);
    expect(dlq.letters).toMatchObject([{ table: "shop.orders", op: "insert", key: { id: "2" }, position: "1", reason: "value too long for column status" }]);
    expect(JSON.stringify(dlq.letters)).not.toContain("secret-bad-value");
    expect(inner.rows("shop.orders")).toEqual([{ id: 1n, status: "ok" }]);
  });

  it("stops gracefully on abort, flushing what it accepted", async () => {
    const source = createScriptedSource({ schemas: [orders] });
    const sink = createRecordingSink();
    const controller = new AbortController();
    const checkpoints = createMemoryCheckpointStore();
    const running = runPipeline({ name: "p", source, sink, checkpoints, signal: controller.signal, batch: { maxWaitMs: 60_000 } });
    await new Promise((r) => setTimeout(r, 20));
    source.append([{ op: "insert", table, after: { id: 5n, status: "late" } }]);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const result = await running;
    expect(sink.rows("shop.orders")).toEqual([{ id: 5n, status: "late" }]);
    expect(result.checkpoint.position).toBe("1");
    expect(source.acknowledged).toBe(1);
  });

  it("flushes by time when changes trickle in", async () => {
    const source = createScriptedSource({ schemas: [orders] });
    const sink = createRecordingSink();
    const controller = new AbortController();
    const running = runPipeline({ name: "p", source, sink, checkpoints: createMemoryCheckpointStore(), signal: controller.signal, batch: { maxWaitMs: 30, maxRows: 1_000_000 } });
    await new Promise((r) => setTimeout(r, 20));
    source.append([{ op: "insert", table, after: { id: 7n, status: "x" } }]);
    for (let i = 0; i < 100 && sink.rows("shop.orders").length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sink.rows("shop.orders")).toEqual([{ id: 7n, status: "x" }]);
    controller.abort();
    await running;
  });
});

describe("runPipeline table isolation and lost positions", () => {
  const audit: TableSchema = { ...orders, table: { namespace: "shop", name: "audit" } };

  it("sets a table aside when its changes cannot be applied and keeps the others flowing", async () => {
    const source = createScriptedSource({ schemas: [orders, audit] });
    source.append([{ op: "insert", table, after: { id: 1n, status: "a" } }, { op: "insert", table: audit.table, after: { id: 1n, status: "poison" } }]);
    source.append([{ op: "insert", table, after: { id: 2n, status: "b" } }]);
    const inner = createRecordingSink();
    const strict: Sink = {
      ...inner,
      async flush(checkpoint) {
        if (inner.events.some((e) => e.op === "insert" && e.after.status === "poison") && !flushedPoison) {
          inner.crash();
          flushedPoison = true;
          throw new ZeroEtlError("column status of shop.audit rejects the value", { code: "sink-failed", table: "shop.audit" });
        }
        await inner.flush(checkpoint);
      },
    };
    let flushedPoison = false;
    const checkpoints = createMemoryCheckpointStore();
    const result = await runPipeline({ name: "p", source, sink: strict, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(inner.rows("shop.orders").map((r) => r.id)).toEqual([1n, 2n]);
    expect(inner.rows("shop.audit")).toEqual([]);
    expect(result.checkpoint.tables["shop.audit"]).toMatchObject({ state: "failed", lastError: "column status of shop.audit rejects the value" });
    expect((await checkpoints.load("p"))?.tables["shop.audit"]?.state).toBe("failed");
    expect(source.acknowledged).toBe(2);
  });

  it("fails with the source's message on a lost position, or snapshots again when configured", async () => {
    const source = createScriptedSource({ schemas: [orders], initialRows: { "shop.orders": [{ id: 1n, status: "x" }] } });
    source.append([{ op: "insert", table, after: { id: 2n, status: "y" } }]);
    const checkpoints = createMemoryCheckpointStore();
    await checkpoints.save({ pipeline: "p", phase: "streaming", position: "0", tables: {}, savedAt: "2026-01-01T00:00:00Z" });
    let lost = true;
    const forgetful = {
      ...source,
      stream(from: string, options: { signal?: AbortSignal }) {
        if (lost) {
          lost = false;
          throw new ZeroEtlError("replication slot zeroetl_p was invalidated (wal_status lost)", { code: "position-lost" });
        }
        return source.stream(from, options);
      },
    };
    await expect(runPipeline({ name: "p", source: forgetful, sink: createRecordingSink(), checkpoints, untilCaughtUp: true })).rejects.toThrow(/invalidated/);
    lost = true;
    const sink = createRecordingSink();
    const result = await runPipeline({ name: "p", source: forgetful, sink, checkpoints, untilCaughtUp: true, onLostPosition: "resnapshot" });
    expect(result.snapshotted).toBe(true);
    expect(sink.rows("shop.orders")).toEqual([{ id: 1n, status: "x" }, { id: 2n, status: "y" }]);
  });
});

describe("runPipeline resync", () => {
  it("re-snapshots tables marked for resync, keeps the others, and loses no write made meanwhile", async () => {
    const source = createScriptedSource({ schemas: [orders], initialRows: { "shop.orders": [{ id: 1n, status: "new" }] } });
    source.append([{ op: "insert", table, after: { id: 2n, status: "new" } }]);
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true });
    // the target copy gets damaged behind the pipeline's back
    await sink.resetTable(table);
    const current = await checkpoints.load("p");
    if (current !== undefined) await sink.flush(current);
    expect(sink.rows("shop.orders")).toEqual([]);

    const stored = await checkpoints.load("p");
    if (stored === undefined) throw new Error("no checkpoint");
    await checkpoints.save(markForResync(stored, ["shop.orders"]));
    source.append([{ op: "update", table, key: { id: 1n }, after: { id: 1n, status: "paid" } }]);
    source.append([{ op: "insert", table, after: { id: 3n, status: "new" } }]);
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true });
    const sorted = [...sink.rows("shop.orders")].sort((a, b) => Number(a.id) - Number(b.id));
    expect(sorted).toEqual([{ id: 1n, status: "paid" }, { id: 2n, status: "new" }, { id: 3n, status: "new" }]);
    expect(result.checkpoint.tables["shop.orders"]?.state).toBe("synced");
  });
});

describe("runPipeline refused schema changes", () => {
  it("sets the table aside as resync-required and keeps the others flowing", async () => {
    const other: TableSchema = { ...orders, table: { namespace: "shop", name: "other" } };
    const source = createScriptedSource({ schemas: [orders, other] });
    const retyped: TableSchema = { ...orders, version: 2, columns: [{ name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false }, { name: "status", type: { kind: "bool" }, nullable: true }] };
    source.append([{ op: "schema", table, schema: retyped }]);
    source.append([{ op: "insert", table, after: { id: 1n, status: true } }, { op: "insert", table: other.table, after: { id: 1n, status: "x" } }]);
    const inner = createRecordingSink();
    const sink: Sink = {
      ...inner,
      async prepare(schema) {
        if (schema.version === 2) throw new ZeroEtlError("column status of shop.orders cannot change from string to bool", { code: "schema-refused" });
        await inner.prepare(schema);
      },
    };
    const result = await runPipeline({ name: "p", source, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true });
    expect(result.checkpoint.tables["shop.orders"]).toMatchObject({ state: "resync-required", lastError: "column status of shop.orders cannot change from string to bool" });
    expect(inner.rows("shop.orders")).toEqual([]);
    expect(inner.rows("shop.other")).toEqual([{ id: 1n, status: "x" }]);
  });
});

describe("runPipeline autoResync", () => {
  it("resyncs a refused table where the sink can replace it, and leaves it set aside (without looping) where it cannot", async () => {
    const retyped: TableSchema = { ...orders, version: 2, columns: [{ name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false }, { name: "status", type: { kind: "bool" }, nullable: true }] };
    const run = async (replaceable: boolean) => {
      const source = createScriptedSource({ schemas: [orders], initialRows: { "shop.orders": [{ id: 1n, status: "x" }] } });
      source.append([{ op: "schema", table, schema: retyped }]);
      source.append([{ op: "insert", table, after: { id: 2n, status: true } }]);
      const inner = createRecordingSink();
      let prepares = 0;
      const sink: Sink = {
        ...inner,
        async prepare(schema) {
          prepares += 1;
          if (schema.version === 2 && inner.schema("shop.orders")?.version === 1) throw new ZeroEtlError("status cannot change from string to bool", { code: "schema-refused" });
          await inner.prepare(schema);
        },
        ...(replaceable
          ? {
              async replaceTable(schema: TableSchema) {
                await inner.resetTable(schema.table);
                await inner.prepare(schema);
              },
            }
          : {}),
      };
      const result = await runPipeline({ name: "p", source, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true, autoResync: true });
      return { result, inner, prepares };
    };
    const replaced = await run(true);
    expect(replaced.result.checkpoint.tables["shop.orders"]?.state).toBe("synced");
    // re-read after the replace (the scripted source keeps old values as they were)
    expect([...replaced.inner.rows("shop.orders")].sort((a, b) => Number(a.id) - Number(b.id))).toEqual([{ id: 1n, status: "x" }, { id: 2n, status: true }]);
    expect(replaced.inner.schema("shop.orders")?.version).toBe(2);

    const stuck = await run(false);
    expect(stuck.result.checkpoint.tables["shop.orders"]).toMatchObject({ state: "resync-required", lastError: "status cannot change from string to bool" });
    expect(stuck.prepares).toBeLessThan(10);
  });
});

describe("runPipeline tables discovered during the snapshot", () => {
  it("prepares a table first seen in a snapshot chunk", async () => {
    const discovered: TableSchema = { ...orders, table: { namespace: "shop", name: "orders_refund" } };
    const base = createScriptedSource({ schemas: [orders] });
    const source = {
      ...base,
      async snapshot(options: Parameters<typeof base.snapshot>[0]) {
        const session = await base.snapshot(options);
        async function* chunks() {
          yield* session.chunks;
          yield { table: discovered.table, schema: discovered, rows: [{ id: 9n, status: "refunded" }], chunk: 0, last: true, rowsRead: 1 };
        }
        return { ...session, chunks: chunks() };
      },
    };
    const sink = createRecordingSink();
    const result = await runPipeline({ name: "p", source, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true });
    expect(sink.schema("shop.orders_refund")).toEqual(discovered);
    expect(sink.rows("shop.orders_refund")).toEqual([{ id: 9n, status: "refunded" }]);
    expect(result.checkpoint.tables["shop.orders_refund"]?.state).toBe("synced");
  });
});

describe("runPipeline waiting for a checkpoint", () => {
  it("does not spin while changes are pending and the source has not given a checkpoint yet", async () => {
    let release: () => void = () => {};
    const source = {
      ...createScriptedSource({ schemas: [orders] }),
      async *stream() {
        yield { events: [{ op: "insert" as const, table, position: "1", after: { id: 1n, status: "a" } }] };
        await new Promise<void>((resolve) => (release = resolve));
        yield { events: [], checkpoint: "1", caughtUp: true };
      },
    };
    const checkpoints = createMemoryCheckpointStore();
    await checkpoints.save({ pipeline: "p", phase: "streaming", position: "0", tables: {}, savedAt: "2026-01-01T00:00:00Z" });
    const sink = createRecordingSink();
    const controller = new AbortController();
    const running = runPipeline({ name: "p", source, sink, checkpoints, signal: controller.signal, batch: { maxWaitMs: 1 } });
    await new Promise((r) => setTimeout(r, 30));
    const spy = vi.spyOn(Date, "now");
    await new Promise((r) => setTimeout(r, 100));
    const turns = spy.mock.calls.length;
    spy.mockRestore();
    release();
    await new Promise((r) => setTimeout(r, 30));
    controller.abort();
    await running;
    // a busy loop turns (and reads the clock) about every millisecond; waiting does not
    expect(turns).toBeLessThan(20);
    expect(sink.rows("shop.orders")).toEqual([{ id: 1n, status: "a" }]);
  });
});
