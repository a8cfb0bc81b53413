import type { ChangeBatch, ChangeEvent, Source } from "@zero-etl/core";

/** Streams from `from` until `until` says enough (or `timeoutMs` passes), then aborts; returns the batches. */
export async function collectBatches(source: Source, from: string, until: (events: readonly ChangeEvent[], batches: readonly ChangeBatch[]) => boolean, timeoutMs = 20_000): Promise<ChangeBatch[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const batches: ChangeBatch[] = [];
  const events: ChangeEvent[] = [];
  try {
    for await (const batch of source.stream(from, { signal: controller.signal })) {
      batches.push(batch);
      events.push(...batch.events);
      if (until(events, batches)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return batches;
}

/** All events of the batches, in order. */
export function eventsOf(batches: readonly ChangeBatch[]): ChangeEvent[] {
  return batches.flatMap((b) => [...b.events]);
}

/** Replaces Buffers by plain Uint8Array copies so snapshot and binlog values compare by bytes. */
export function normalize<T>(value: T): T {
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  if (Array.isArray(value)) return value.map(normalize) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalize(v);
    return out as T;
  }
  return value;
}
