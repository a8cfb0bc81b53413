import type { PositionCodec } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/**
 * A Kafka source position. A record's position is its `topic:partition:offset`
 * (`partition` set). A checkpoint is the next offset to read per
 * `topic:partition` the worker consumed, numbered by `seq`, which grows with
 * every batch the worker delivers (partitions have no order among them, so
 * checkpoints are ordered by that number).
 */
export type KafkaPosition =
  | { readonly kind: "record"; readonly partition: string; readonly offset: bigint }
  | {
      readonly kind: "checkpoint";
      readonly seq: bigint;
      readonly offsets: Readonly<Record<string, string>>;
      /** Set on a checkpoint taken when the worker had read every assigned partition to its end: the id of its run. */
      readonly atEndOf?: string;
    }
  /**
   * The end of what the worker's partitions hold, for one run (`run`): what
   * `currentPosition` returns, so `--until-caught-up` stops at the first
   * checkpoint of that run taken at the end. Kafka has no single end offset
   * to compare with: partitions are assigned only once the group is joined.
   */
  | { readonly kind: "end"; readonly run: string };

function invalid(serialized: string): ZeroEtlError {
  return new ZeroEtlError(`not a Kafka position: ${serialized.slice(0, 80)}`, { code: "position-invalid" });
}

/** Serializes and orders {@link KafkaPosition}s. Records of different partitions compare equal: Kafka orders only within a partition. */
export const kafkaPositionCodec: PositionCodec<KafkaPosition> = {
  parse(serialized) {
    if (serialized.startsWith("{")) {
      try {
        const parsed = JSON.parse(serialized) as { n?: unknown; o?: unknown; e?: unknown; end?: unknown };
        if (typeof parsed.end === "string") return { kind: "end", run: parsed.end };
        if (typeof parsed.n !== "string" || typeof parsed.o !== "object" || parsed.o === null) throw invalid(serialized);
        const checkpoint = { kind: "checkpoint" as const, seq: BigInt(parsed.n), offsets: parsed.o as Record<string, string> };
        return typeof parsed.e === "string" ? { ...checkpoint, atEndOf: parsed.e } : checkpoint;
      } catch (error) {
        throw error instanceof ZeroEtlError ? error : invalid(serialized);
      }
    }
    const at = serialized.lastIndexOf(":");
    if (at <= 0 || !/^\d+$/.test(serialized.slice(at + 1))) throw invalid(serialized);
    return { kind: "record", partition: serialized.slice(0, at), offset: BigInt(serialized.slice(at + 1)) };
  },
  serialize(position) {
    if (position.kind === "record") return `${position.partition}:${position.offset}`;
    if (position.kind === "end") return JSON.stringify({ end: position.run });
    return JSON.stringify(position.atEndOf === undefined ? { n: String(position.seq), o: position.offsets } : { n: String(position.seq), o: position.offsets, e: position.atEndOf });
  },
  compare(a, b) {
    if (a.kind === "checkpoint" && b.kind === "checkpoint") return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
    // a run's end is reached by that run's checkpoints taken at the end only (a stored one is of an earlier run)
    if (a.kind === "checkpoint" && b.kind === "end") return a.atEndOf === b.run ? 0 : -1;
    if (a.kind === "end" && b.kind === "checkpoint") return b.atEndOf === a.run ? 0 : 1;
    if (a.kind === "record" && b.kind === "record" && a.partition === b.partition) return a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;
    return 0;
  },
};
