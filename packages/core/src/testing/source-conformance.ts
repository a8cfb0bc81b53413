import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeBatch } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
import type { TableRef } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import type { Row } from "../schema/value.js";
import type { Source } from "../source/source.js";

/**
 * What a source's test file provides so the shared suite can drive it: a
 * table with an integer key `id` and a text column `name`, and ways to
 * change it at the source.
 */
export interface SourceConformanceHarness {
  /** The table the suite writes to; it exists and is empty. */
  readonly table: TableRef;
  /** A fresh source for the same pipeline (same slot / server id / shards), as after a restart. */
  createSource(): Promise<Source>;
  insert(rows: readonly { readonly id: number; readonly name: string }[]): Promise<void>;
  update(id: number, name: string): Promise<void>;
  remove(id: number): Promise<void>;
  cleanup(): Promise<void>;
  /**
   * Reads `name` from a row the source delivered; by default its `name`
   * column. A source that keeps items as documents (DynamoDB) reads it there.
   */
  nameOf?(row: Row): unknown;
}

/** The suite's options. */
export interface SourceConformanceOptions {
  readonly name: string;
  readonly setup: () => Promise<SourceConformanceHarness>;
  /** Longest wait for expected changes to arrive; sources that poll need more. */
  readonly timeoutMs?: number;
}

/**
 * The behaviour every source must show, run against the real system:
 * snapshot, snapshot→stream hand-off, change order, restart from a
 * checkpoint, and identical encoding of a value by snapshot and stream.
 */
export function describeSourceConformance(options: SourceConformanceOptions): void {
  const timeoutMs = options.timeoutMs ?? 20_000;
  describe(`${options.name} source conformance`, () => {
    let harness: SourceConformanceHarness;
    beforeAll(async () => {
      harness = await options.setup();
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it("snapshots, hands off to the stream, and resumes from a checkpoint without loss", async () => {
      await harness.insert([
        { id: 1, name: "one" },
        { id: 2, name: "two" },
      ]);
      const source = await harness.createSource();
      const state = new Map<string, Row>();
      let streamFrom: string;
      let snapshotRow: Row | undefined;
      try {
        const session = await source.snapshot({});
        expect(source.positions.serialize(source.positions.parse(session.position))).toBe(session.position);
        expect(session.schemas.map((s) => tableKey(s.table))).toContain(tableKey(harness.table));
        for await (const chunk of session.chunks) {
          if (tableKey(chunk.table) !== tableKey(harness.table)) continue;
          for (const row of chunk.rows) state.set(String(row.id), row);
        }
        snapshotRow = state.get("1");
        expect([...state.keys()].sort()).toEqual(["1", "2"]);
        streamFrom = session.position;

        await harness.insert([{ id: 3, name: "three" }]);
        await harness.update(1, "uno");
        await harness.remove(2);
        await harness.insert([{ id: 1_000, name: "one" }]);
        // the stream may repeat changes the snapshot already saw (the contract
        // allows it; sinks apply idempotently), so look at its last four
        const events = await collect(source, streamFrom, harness.table, 4, timeoutMs, (e) => e.op === "insert" && String(e.after.id) === "1000");
        applyAll(state, events.events);
        expect(events.events.slice(-4).map((e) => e.op)).toEqual(["insert", "update", "delete", "insert"]);
        const streamed = events.events.at(-1);
        // the same value must look the same whether it came by snapshot or by stream
        const nameOf = (row: Row | undefined) => (row === undefined ? undefined : harness.nameOf ? harness.nameOf(row) : row.name);
        expect(nameOf(streamed?.op === "insert" ? streamed.after : undefined)).toEqual(nameOf(snapshotRow));
        expect(typeof (streamed?.op === "insert" ? streamed.after.id : undefined)).toBe(typeof snapshotRow?.id);
        expect(events.checkpoint).toBeDefined();
        await source.acknowledge(events.checkpoint ?? "");
        streamFrom = events.checkpoint ?? "";
        const codec = source.positions;
        expect(codec.compare(codec.parse(streamFrom), codec.parse(session.position))).toBeGreaterThan(0);
      } finally {
        await source.close();
      }
      expect(summary(state, harness)).toEqual({ "1": "uno", "1000": "one", "3": "three" });

      await harness.insert([{ id: 4, name: "four" }]);
      const restarted = await harness.createSource();
      try {
        const more = await collect(restarted, streamFrom, harness.table, 1, timeoutMs, (e) => e.op === "insert" && String(e.after.id) === "4");
        applyAll(state, more.events);
      } finally {
        await restarted.close();
      }
      expect(summary(state, harness)).toEqual({ "1": "uno", "1000": "one", "3": "three", "4": "four" });
    });
  });
}

function summary(state: Map<string, Row>, harness: SourceConformanceHarness): Record<string, unknown> {
  return Object.fromEntries([...state.entries()].map(([k, row]) => [k, harness.nameOf ? harness.nameOf(row) : row.name]));
}

function applyAll(state: Map<string, Row>, events: readonly ChangeEvent[]): void {
  for (const event of events) {
    if (event.op === "insert") state.set(String(event.after.id), event.after);
    else if (event.op === "update") {
      state.delete(String(event.key.id));
      state.set(String(event.after.id), event.after);
    } else if (event.op === "delete") state.delete(String(event.key.id));
  }
}

/**
 * Streams from `from` until `count` row events of `table` (and, when given,
 * one matching `last`) and a checkpoint covering them have arrived, or fails
 * after `timeoutMs`.
 */
export async function collect(
  source: Source,
  from: string,
  table: TableRef,
  count: number,
  timeoutMs: number,
  last?: (event: ChangeEvent) => boolean,
): Promise<{ events: ChangeEvent[]; checkpoint: string | undefined }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: ChangeEvent[] = [];
  let checkpoint: string | undefined;
  try {
    for await (const batch of source.stream(from, { signal: controller.signal }) as AsyncIterable<ChangeBatch>) {
      for (const event of batch.events) {
        if (tableKey(event.table) === tableKey(table) && event.op !== "schema") events.push(event);
      }
      if (batch.checkpoint !== undefined) checkpoint = batch.checkpoint;
      if (events.length >= count && batch.checkpoint !== undefined && (last === undefined || events.some(last))) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  if (events.length < count) throw new Error(`expected ${count} changes of ${tableKey(table)} within ${timeoutMs} ms, got ${events.length}`);
  return { events, checkpoint };
}
