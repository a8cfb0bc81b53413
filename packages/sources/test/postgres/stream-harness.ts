import type { ChangeBatch, ChangeEvent, Source } from "@zero-etl/core";

/** A running stream under test: pull events until a condition holds, then stop. */
export interface StreamUnderTest {
  /** All batches received so far. */
  readonly batches: ChangeBatch[];
  /** Pulls batches until `done(events)` holds for all events received so far (or times out). */
  until(done: (events: ChangeEvent[]) => boolean, timeoutMs?: number): Promise<ChangeEvent[]>;
  /** Pulls batches until a batch's checkpoint satisfies `done`. */
  untilBatch(done: (batch: ChangeBatch) => boolean, timeoutMs?: number): Promise<ChangeBatch>;
  stop(): Promise<void>;
}

/** Starts `source.stream(from)` and returns a handle that pulls on demand. */
export function openStream(source: Source, from: string): StreamUnderTest {
  const controller = new AbortController();
  const iterator = source.stream(from, { signal: controller.signal })[Symbol.asyncIterator]();
  const batches: ChangeBatch[] = [];
  const events: ChangeEvent[] = [];
  let pending: Promise<IteratorResult<ChangeBatch>> | undefined;
  const pull = async (timeoutMs: number): Promise<ChangeBatch | undefined> => {
    pending ??= iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const result = await Promise.race([pending, timeout]);
    clearTimeout(timer);
    if (result === "timeout") return undefined;
    pending = undefined;
    if (result.done === true) throw new Error("stream ended");
    batches.push(result.value);
    events.push(...result.value.events);
    return result.value;
  };
  return {
    batches,
    async until(done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(events)) {
        const left = deadline - Date.now();
        if (left <= 0 || (await pull(left)) === undefined) throw new Error(`stream condition not met; got ${events.length} events: ${events.map((e) => e.op).join(",")}`);
      }
      return events;
    },
    async untilBatch(done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const left = deadline - Date.now();
        const batch = left <= 0 ? undefined : await pull(left);
        if (batch === undefined) throw new Error("batch condition not met");
        if (done(batch)) return batch;
      }
    },
    async stop() {
      controller.abort();
      if (pending !== undefined) await pending.catch(() => undefined);
      await iterator.return?.(undefined);
    },
  };
}

/** Drains a snapshot session into rows per table key. */
export async function readSnapshot(chunks: AsyncIterable<{ table: { namespace: string; name: string }; rows: readonly Record<string, unknown>[] }>): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>();
  for await (const chunk of chunks) {
    const key = `${chunk.table.namespace}.${chunk.table.name}`;
    const list = out.get(key) ?? [];
    list.push(...chunk.rows);
    out.set(key, list);
  }
  return out;
}
