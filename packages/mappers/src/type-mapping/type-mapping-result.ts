/**
 * What a type mapping does to values:
 * - `exact`: every source value is stored as it is;
 * - `widened`: every value fits, in a larger or more general type (int16 -> int32, uuid -> text);
 * - `truncated`: some values lose digits, characters or precision (nanoseconds cut to microseconds);
 * - `dead-letter`: some values cannot be stored at all, and their rows go to the dead-letter queue.
 */
export type TypeMappingDecision = "exact" | "widened" | "truncated" | "dead-letter";

/** A target type with the decision that goes with it. `note` explains anything but `exact`. */
export interface TargetTypeMapping<T = string> {
  readonly type: T;
  readonly decision: TypeMappingDecision;
  readonly note?: string;
}

const RANK: Readonly<Record<TypeMappingDecision, number>> = { exact: 0, widened: 1, truncated: 2, "dead-letter": 3 };

/** The worse of two decisions (`exact` < `widened` < `truncated` < `dead-letter`). */
export function worseDecision(a: TypeMappingDecision, b: TypeMappingDecision): TypeMappingDecision {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Builds a mapping result, leaving `note` out when there is none. */
export function typeMapping<T>(type: T, decision: TypeMappingDecision, note?: string): TargetTypeMapping<T> {
  return note === undefined ? { type, decision } : { type, decision, note };
}
