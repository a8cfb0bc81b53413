import { describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline, type ChangeBatch, type CheckpointStore, type Sink, type Source, type TableSchema } from "@zero-etl/core";
import { createRecordingSink, createScriptedSource } from "@zero-etl/core/testing";

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
const fastRetry = { maxAttempts: 1, maxElapsedMs: 1_000, baseDelayMs: 1, maxDelayMs: 2 };

/** The source, with a count of the batches asked of its stream and a hook called on each request. */
function countingSource(inner: Source, onNext: (asked: number) => void): Source & { readonly asked: () => number } {
  let asked = 0;
  return Object.assign(Object.create(inner) as Source, {
    asked: () => asked,
    stream(from: string, options: { signal?: AbortSignal }): AsyncIterable<ChangeBatch> {
      const iterable = inner.stream(from, options);
      return {
        [Symbol.asyncIterator]() {
          const iterator = iterable[Symbol.asyncIterator]();
          return {
            next: () => {
              asked += 1;
              onNext(asked);
              return iterator.next();
            },
            return: async () => (await iterator.return?.()) ?? { done: true as const, value: undefined },
          };
        },
      };
    },
  });
}

describe("runPipeline overlaps the source with the sink", () => {
  it("asks the source for the next batch while the sink still applies the previous one", async () => {
    const scripted = createScriptedSource({ schemas: [orders] });
    await runPipeline({ name: "p", source: scripted, sink: createRecordingSink(), checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true, retry: fastRetry });
    for (let i = 1; i <= 3; i++) scripted.append([{ op: "insert", table, after: { id: BigInt(i), status: "new" } }]);

    // each write waits until the source was asked for the batch after it; a pipeline that
    // awaits the sink before asking the source never gets there, and the write fails
    let wake: (() => void) | undefined;
    const source = countingSource(scripted, () => wake?.());
    const inner = createRecordingSink();
    let writes = 0;
    const sink: Sink = Object.assign(Object.create(inner) as Sink, {
      async write(batch: ChangeBatch) {
        writes += 1;
        const needed = writes + 1;
        // the last batch reaches the run's target position: nothing is asked after it
        if (writes < 3 && source.asked() < needed) {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the source was not asked for batch ${needed} while batch ${writes} was written`)), 5_000);
            wake = () => {
              if (source.asked() < needed) return;
              clearTimeout(timer);
              resolve();
            };
          });
        }
        return inner.write(batch);
      },
    });
    const result = await runPipeline({ name: "p", source, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true, retry: fastRetry, batch: { maxRows: 100 } });
    expect(result.checkpoint.position).toBe("3");
    expect(inner.rows("shop.orders").map((r) => r.id)).toEqual([1n, 2n, 3n]);
    expect(writes).toBe(3);
  });

  it("prepares the next batch (Sink.prepareWrite) while the previous one is written, and writes them in order", async () => {
    const scripted = createScriptedSource({ schemas: [orders] });
    await runPipeline({ name: "p", source: scripted, sink: createRecordingSink(), checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true, retry: fastRetry });
    for (let i = 1; i <= 3; i++) scripted.append([{ op: "insert", table, after: { id: BigInt(i), status: "new" } }]);

    // each prepared write waits until the next batch was prepared; a runtime that prepares
    // a batch only after the previous write returned never gets there, and the write fails
    const inner = createRecordingSink();
    const order: string[] = [];
    let prepared = 0;
    let wake: (() => void) | undefined;
    const sink: Sink = Object.assign(Object.create(inner) as Sink, {
      prepareWrite(batch: ChangeBatch) {
        prepared += 1;
        const n = prepared;
        order.push(`prepare ${n}`);
        wake?.();
        return {
          write: async () => {
            // the last batch reaches the run's target position: nothing is prepared after it
            if (n < 3 && prepared <= n) {
              await new Promise<void>((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error(`batch ${n + 1} was not prepared while batch ${n} was written`)), 5_000);
                wake = () => {
                  if (prepared <= n) return;
                  clearTimeout(timer);
                  resolve();
                };
              });
            }
            order.push(`write ${n}`);
            return inner.write(batch);
          },
        };
      },
    });
    const result = await runPipeline({ name: "p", source: scripted, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true, retry: fastRetry, batch: { maxRows: 100 } });
    expect(result.checkpoint.position).toBe("3");
    expect(inner.rows("shop.orders").map((r) => r.id)).toEqual([1n, 2n, 3n]);
    expect(order).toEqual(["prepare 1", "prepare 2", "write 1", "prepare 3", "write 2", "write 3"]);
  });

  it("acknowledges a position only after the sink flushed it and the checkpoint store saved it, with flushes in flight", async () => {
    const scripted = createScriptedSource({ schemas: [orders] });
    const order: string[] = [];
    const inner = createRecordingSink();
    const sink: Sink = Object.assign(Object.create(inner) as Sink, {
      async flush(checkpoint: Parameters<Sink["flush"]>[0]) {
        await new Promise((r) => setTimeout(r, 2));
        await inner.flush(checkpoint);
        order.push(`flush ${checkpoint.position}`);
      },
    });
    const memory = createMemoryCheckpointStore();
    const checkpoints: CheckpointStore = {
      load: (name) => memory.load(name),
      clear: (name) => memory.clear(name),
      async save(checkpoint) {
        await memory.save(checkpoint);
        order.push(`save ${checkpoint.position}`);
      },
    };
    const acknowledging: Source = Object.assign(Object.create(scripted) as Source, {
      async acknowledge(position: string) {
        order.push(`ack ${position}`);
        await scripted.acknowledge(position);
      },
    });
    await runPipeline({ name: "p", source: acknowledging, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    for (let i = 1; i <= 20; i++) scripted.append([{ op: "insert", table, after: { id: BigInt(i), status: "new" } }]);
    order.length = 0;
    // one row per flush: every batch's commit runs while the next one is read
    const result = await runPipeline({ name: "p", source: acknowledging, sink, checkpoints, untilCaughtUp: true, retry: fastRetry, batch: { maxRows: 1 } });
    expect(result.checkpoint.position).toBe("20");
    expect(inner.rows("shop.orders")).toHaveLength(20);
    const acks = order.filter((o) => o.startsWith("ack "));
    expect(acks.length).toBeGreaterThan(1);
    for (const ack of acks) {
      const position = ack.slice(4);
      const at = order.indexOf(ack);
      expect(order.indexOf(`flush ${position}`)).toBeGreaterThanOrEqual(0);
      expect(order.indexOf(`flush ${position}`)).toBeLessThan(order.indexOf(`save ${position}`));
      expect(order.indexOf(`save ${position}`)).toBeLessThan(at);
    }
    // positions are acknowledged in order
    const positions = acks.map((a) => Number(a.slice(4)));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it("flushes a steady stream at the head of the log after lingerMs, although the source never pauses that long", async () => {
    const inner = createScriptedSource({ schemas: [orders] });
    const checkpoints = createMemoryCheckpointStore();
    const recording = createRecordingSink();
    await runPipeline({ name: "p", source: inner, sink: recording, checkpoints, untilCaughtUp: true, retry: fastRetry });
    const BATCHES = 150;
    let produced = 0;
    // a transaction every 10 ms, each batch saying the source has nothing newer
    const steady: Source = Object.assign(Object.create(inner) as Source, {
      async *stream(): AsyncGenerator<ChangeBatch> {
        while (produced < BATCHES) {
          await new Promise((r) => setTimeout(r, 10));
          produced += 1;
          yield { events: [{ op: "insert", table, position: String(produced), after: { id: BigInt(produced), status: "new" } }], checkpoint: String(produced), caughtUp: true };
        }
      },
      async acknowledge() {},
    });
    let producedAtFirstFlush: number | undefined;
    const sink: Sink = Object.assign(Object.create(recording) as Sink, {
      async flush(checkpoint: Parameters<Sink["flush"]>[0]) {
        producedAtFirstFlush ??= produced;
        return recording.flush(checkpoint);
      },
    });
    await runPipeline({ name: "p", source: steady, sink, checkpoints, retry: fastRetry, batch: { maxWaitMs: 600_000, maxRows: 1_000_000, lingerMs: 50 } });
    expect(recording.rows("shop.orders")).toHaveLength(BATCHES);
    // waiting for a pause (or for maxWaitMs) would flush only when the stream ends
    expect(producedAtFirstFlush).toBeLessThan(BATCHES);
  });
});
