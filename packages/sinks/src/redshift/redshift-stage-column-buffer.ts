import type { StageColumn } from "./redshift-stage-encoder.js";

/** How a staged column's values are held, by the Parquet physical type they are written as. */
export const StageSlot = {
  /** `state` 1 false, 2 true. */
  boolean: 0,
  /** INT32 (int, date, decimal of up to 9 digits) in `ints`. */
  int32: 1,
  /** INT64 (long, timestamps, decimal of 10 to 18 digits): safe integers in `numbers`, the rest (`state` 2) in `wide`. */
  int64: 2,
  float: 3,
  double: 4,
  /** Strings in `refs`. */
  text: 5,
  /** Bytes in `refs`. */
  binary: 6,
  /** Unscaled bigints of decimals past 18 digits in `refs`. */
  wideDecimal: 7,
  /** JSON text of each value in `refs` (a JSON-lines staged file). */
  json: 8,
} as const;

/** One of {@link StageSlot}'s values. */
export type StageSlotKind = (typeof StageSlot)[keyof typeof StageSlot];

/**
 * The values of one staged column, row by row (row `i` of the batch at index
 * `i`): typed arrays for fixed-width types, so a batch holds no object per
 * row or per number. Only `[0, length)` of the batch is meaningful.
 */
export interface StageColumnBuffer {
  readonly column: StageColumn;
  readonly slot: StageSlotKind;
  /** The Iceberg-form Parquet type the column is written as ("" for JSON). */
  readonly parquetType: string;
  /** Per row: 0 null; else 1 a value (booleans: 1 false, 2 true; int64: 2 a value outside the safe range, in `wide`). */
  state: Uint8Array;
  /** int32 values (empty for other slots). */
  ints: Int32Array;
  /** int64 safe integers, float and double values (empty for other slots). */
  numbers: Float64Array;
  /** Text, bytes, wide decimals and JSON text (null where the row has none). */
  readonly refs: unknown[];
  /** int64 values outside ±2^53, by row. */
  readonly wide: Map<number, bigint>;
}
