import type { TableRef, TableSchema } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/**
 * One range of a table to read inside the capture run's exported snapshot,
 * as the Kafka target's distributed snapshot publishes it to
 * `<prefix>.zeroetl-snapshot-work` (JSON; the wire format is described in
 * docs/connectors/kafka.md and written by the Kafka sink).
 */
export interface SnapshotWorkItem {
  /** The publishing call's random id: every item of one table's distribution shares it. */
  readonly batch: string;
  /** This item's number in its batch, from 0. */
  readonly item: number;
  /** The exported snapshot's name. */
  readonly snapshot: string;
  /** The table's OID at the source. */
  readonly relationOid: number;
  /** The table's schema as the capture run's target prepared it: the columns to read and the key. */
  readonly schema: TableSchema;
  readonly fromBlock: number;
  /** Undefined: to the end of the table. */
  readonly toBlock: number | undefined;
}

/** A completion record of `<prefix>.zeroetl-snapshot-done`: `done` (the rows are durable in the worker's target) or `stale` (the snapshot could not be imported). */
export interface SnapshotWorkDone {
  readonly batch: string;
  readonly item: number;
  readonly status: "done" | "stale";
  readonly rows: number;
  readonly worker: string;
}

const nonNegativeInteger = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Parses and checks a work item; throws an Error saying what is wrong (the record is dead-lettered). */
export function parseSnapshotWorkItem(text: string | undefined): SnapshotWorkItem {
  if (text === undefined || text.length === 0) throw new Error("empty snapshot work item");
  const v = JSON.parse(text) as Record<string, unknown>;
  const schema = v.schema as TableSchema | undefined;
  if (typeof v.batch !== "string" || !/^[0-9a-f]{8,64}$/.test(v.batch)) throw new Error("snapshot work item without a batch id");
  if (!nonNegativeInteger(v.item)) throw new Error("snapshot work item without an item number");
  if (typeof v.snapshot !== "string" || !/^[0-9A-Fa-f-]{1,64}$/.test(v.snapshot)) throw new Error("snapshot work item without an exported snapshot name");
  if (!nonNegativeInteger(v.relationOid) || !nonNegativeInteger(v.fromBlock)) throw new Error("snapshot work item without relationOid or fromBlock");
  if (v.toBlock !== null && v.toBlock !== undefined && !nonNegativeInteger(v.toBlock)) throw new Error("snapshot work item with an invalid toBlock");
  if (schema === undefined || typeof schema.table?.namespace !== "string" || typeof schema.table?.name !== "string" || !Array.isArray(schema.columns) || !Array.isArray(schema.primaryKey)) {
    throw new Error("snapshot work item without a table schema");
  }
  return {
    batch: v.batch,
    item: v.item,
    snapshot: v.snapshot,
    relationOid: v.relationOid,
    schema,
    fromBlock: v.fromBlock,
    toBlock: v.toBlock === null || v.toBlock === undefined ? undefined : (v.toBlock as number),
  };
}

/** The work and completion topics of a topic prefix. */
export function snapshotWorkTopics(prefix: string): { readonly work: string; readonly done: string } {
  return { work: `${prefix}.zeroetl-snapshot-work`, done: `${prefix}.zeroetl-snapshot-done` };
}

/** The table topic the Kafka sink writes a table to (`kafkaTopicName` of the sink). */
export function tableTopicOf(prefix: string, table: TableRef): string {
  return `${prefix}.${table.namespace}.${table.name}`.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** A work item for a table this worker's consumer does not read: the stream is reopened to subscribe to it. */
export function unsubscribedTopicError(topic: string): ZeroEtlError {
  return new ZeroEtlError(`kafka: table topic ${topic} appeared after this worker joined its group; rejoining to read it`, { code: "source-failed", retryable: true });
}
