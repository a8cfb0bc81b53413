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
  | { readonly kind: "checkpoint"; readonly seq: bigint; readonly offsets: Readonly<Record<string, string>> };

function invalid(serialized: string): ZeroEtlError {
  return new ZeroEtlError(`not a Kafka position: ${serialized.slice(0, 80)}`, { code: "position-invalid" });
}

/** Serializes and orders {@link KafkaPosition}s. Records of different partitions compare equal: Kafka orders only within a partition. */
export const kafkaPositionCodec: PositionCodec<KafkaPosition> = {
  parse(serialized) {
    if (serialized.startsWith("{")) {
      try {
        const parsed = JSON.parse(serialized) as { n?: unknown; o?: unknown };
        if (typeof parsed.n !== "string" || typeof parsed.o !== "object" || parsed.o === null) throw invalid(serialized);
        return { kind: "checkpoint", seq: BigInt(parsed.n), offsets: parsed.o as Record<string, string> };
      } catch (error) {
        throw error instanceof ZeroEtlError ? error : invalid(serialized);
      }
    }
    const at = serialized.lastIndexOf(":");
    if (at <= 0 || !/^\d+$/.test(serialized.slice(at + 1))) throw invalid(serialized);
    return { kind: "record", partition: serialized.slice(0, at), offset: BigInt(serialized.slice(at + 1)) };
  },
  serialize(position) {
    return position.kind === "record" ? `${position.partition}:${position.offset}` : JSON.stringify({ n: String(position.seq), o: position.offsets });
  },
  compare(a, b) {
    if (a.kind === "checkpoint" && b.kind === "checkpoint") return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
    if (a.kind === "record" && b.kind === "record" && a.partition === b.partition) return a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;
    return 0;
  },
};
