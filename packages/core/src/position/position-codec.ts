/**
 * How a source reads, writes and orders its positions. Positions are opaque
 * to everything but their source: the runtime only stores the serialized
 * string and asks the codec to compare.
 */
export interface PositionCodec<P> {
  /** Parses a serialized position; throws a `ZeroEtlError` with code `position-invalid` when it is not one. */
  parse(serialized: string): P;
  /** Serializes a position; `parse(serialize(p))` equals `p`. */
  serialize(position: P): string;
  /** Negative, zero or positive as `a` is before, at or after `b`. */
  compare(a: P, b: P): number;
}

/** Compares two serialized positions with a codec. */
export function compareSerialized<P>(codec: PositionCodec<P>, a: string, b: string): number {
  return codec.compare(codec.parse(a), codec.parse(b));
}
