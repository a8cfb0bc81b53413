import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent } from "../change/change-event.js";
import type { PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { TableRef, TableSchema } from "../schema/table-schema.js";
import type { Row } from "../schema/value.js";
import type { Sink } from "../sink/sink.js";

/** What a sink's test file provides so the shared suite can drive it. */
export interface SinkConformanceHarness {
  /** A new sink instance on the same target, as after a process restart. */
  createSink(): Promise<Sink>;
  /** The durable rows of a target table as the target's own reader returns them. */
  readRows(table: TableRef, schema: TableSchema): Promise<readonly Row[]>;
  cleanup(): Promise<void>;
}

/** The suite's options. */
export interface SinkConformanceOptions {
  readonly name: string;
  readonly setup: () => Promise<SinkConformanceHarness>;
}

const table: TableRef = { namespace: "conformance", name: "items" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "name", type: { kind: "string" }, nullable: true },
    { name: "note", type: { kind: "string" }, nullable: true },
  ],
};

function checkpointAt(position: string, pipeline = "conformance"): PipelineCheckpoint {
  return { pipeline, phase: "streaming", position, tables: {}, savedAt: new Date().toISOString() };
}

/**
 * The behaviour every sink must show against its real target: rows become
 * durable on flush and not before, changes apply by primary key in order,
 * replays change nothing, unchanged columns keep their value, truncate and
 * key-changing updates apply, and a sink that keeps checkpoints returns them.
 */
export function describeSinkConformance(options: SinkConformanceOptions): void {
  describe(`${options.name} sink conformance`, () => {
    let harness: SinkConformanceHarness;
    beforeAll(async () => {
      harness = await options.setup();
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    const view = async () =>
      Object.fromEntries(
        (await harness.readRows(table, schema)).map((r) => [String(r.id), `${String(r.name)}|${r.note === null || r.note === undefined ? "∅" : String(r.note)}`]),
      );

    it("applies snapshot rows and changes by key, idempotently, durable only after flush", async () => {
      const sink = await harness.createSink();
      await sink.open({ pipeline: "conformance" });
      await sink.prepare(schema);
      await sink.resetTable(table);
      await sink.writeSnapshot({ table, schema, rows: [{ id: 1, name: "a", note: "big" }, { id: 2, name: "b", note: null }], chunk: 0, last: true, rowsRead: 2 });
      await sink.flush(checkpointAt("1"));
      expect(await view()).toEqual({ "1": "a|big", "2": "b|∅" });

      const changes: ChangeEvent[] = [
        { op: "insert", table, position: "2", after: { id: 3, name: "c", note: "x" } },
        { op: "update", table, position: "3", key: { id: 1 }, after: { id: 1, name: "a2" }, unchanged: ["note"] },
        { op: "delete", table, position: "4", key: { id: 2 } },
        { op: "update", table, position: "5", key: { id: 3 }, after: { id: 30, name: "c", note: "x" } },
        { op: "insert", table, position: "6", after: { id: 4, name: "d", note: null } },
        { op: "update", table, position: "7", key: { id: 4 }, after: { id: 4, name: "d2", note: "n" } },
      ];
      await sink.write({ events: changes });
      const fresh = await harness.createSink();
      await fresh.open({ pipeline: "conformance" });
      expect(await view()).toEqual({ "1": "a|big", "2": "b|∅" });
      await fresh.close();

      await sink.flush(checkpointAt("7"));
      const expected = { "1": "a2|big", "30": "c|x", "4": "d2|n" };
      expect(await view()).toEqual(expected);

      // a replay after a crash delivers the same changes again
      await sink.write({ events: changes });
      await sink.flush(checkpointAt("7"));
      expect(await view()).toEqual(expected);

      await sink.write({ events: [{ op: "truncate", table, position: "8" }, { op: "insert", table, position: "9", after: { id: 9, name: "z", note: null } }] });
      await sink.flush(checkpointAt("9"));
      expect(await view()).toEqual({ "9": "z|∅" });
      await sink.close();
    });

    it("returns the stored checkpoint on open when it keeps checkpoints in the target", async () => {
      const sink = await harness.createSink();
      const before = await sink.open({ pipeline: "conformance-checkpoint" });
      expect(before).toBeUndefined();
      await sink.prepare(schema);
      await sink.write({ events: [{ op: "insert", table, position: "10", after: { id: 10, name: "j", note: null } }] });
      await sink.flush(checkpointAt("10", "conformance-checkpoint"));
      await sink.close();
      const reopened = await harness.createSink();
      const stored = await reopened.open({ pipeline: "conformance-checkpoint" });
      if (reopened.capabilities.checkpointsInTarget) expect(stored?.position).toBe("10");
      else expect(stored).toBeUndefined();
      await reopened.close();
    });
  });
}
