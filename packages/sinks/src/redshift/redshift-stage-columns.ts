import type { Row } from "@zero-etl/core";
import { parseDecimalType } from "../iceberg/iceberg-value-codec.js";
import type { Converter, StageColumn, StageFormat, StageRowEncoder } from "./redshift-stage-encoder.js";
import { byteLimit, converterOf, cutToBytes, jsonCell, parquetTypeOf, REDSHIFT_MAX_COPY_ROW_BYTES, REDSHIFT_MAX_SUPER_BYTES, shortUnscaled, utcIsoMicros } from "./redshift-stage-encoder.js";
import { writeStageParquet } from "./redshift-stage-parquet-writer.js";
import type { StageColumnBuffer, StageSlotKind } from "./redshift-stage-column-buffer.js";
import { StageSlot } from "./redshift-stage-column-buffer.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

/** Source values the append loop converts itself, per column; anything else goes through the column's converter. */
const FAST_NONE = 0;
const FAST_STRING = 1;
const FAST_LONG = 2;
const FAST_NUMBER = 3;
const FAST_BOOLEAN = 4;
const FAST_TIMESTAMPTZ = 5;
const FAST_DECIMAL = 6;

/**
 * A batch of staged rows held column by column, as the staged file is
 * written: each row is converted once, when appended (so a row that cannot
 * be staged is refused then, with the reason), straight into per-column
 * typed arrays, and the file is encoded from those columns. Rows are
 * addressed by index; a file can take any subset of them in any order (the
 * rows a batch's later changes did not replace). The conversions and the
 * refusals are those of {@link StageRowEncoder.encode}.
 */
export class StageColumns {
  readonly columns: readonly StageColumn[];
  readonly format: StageFormat;
  readonly buffers: readonly StageColumnBuffer[];
  /** Rows appended (indices `[0, length)`). */
  length = 0;
  #capacity: number;
  readonly #sources: readonly string[];
  readonly #fast: Int8Array;
  readonly #byteLimits: Int32Array;
  readonly #limits: readonly (number | undefined)[];
  readonly #converters: readonly Converter[];
  readonly #precision: Int32Array;
  readonly #scale: Int32Array;

  /** Columns and staging format of `encoder`; room for `capacity` rows to start with (grown by doubling). */
  constructor(encoder: StageRowEncoder, capacity = 1024) {
    this.columns = encoder.columns;
    this.format = encoder.format;
    this.#capacity = Math.max(16, capacity);
    const json = this.format === "json";
    const types = this.columns.map((c) => (json ? "" : parquetTypeOf(c.type)));
    this.#limits = this.columns.map((c) => byteLimit(c.type));
    this.#byteLimits = Int32Array.from(this.#limits, (limit) => limit ?? 0);
    this.#converters = types.map((type, i) => (json ? (v: unknown) => v : converterOf(type, this.#limits[i])));
    this.#sources = this.columns.map((c) => c.source ?? "");
    const decimals = types.map((type) => parseDecimalType(type));
    this.#precision = Int32Array.from(decimals, (d) => d?.precision ?? 0);
    this.#scale = Int32Array.from(decimals, (d) => d?.scale ?? 0);
    this.#fast = Int8Array.from(types, (type, i) => fastOf(type, decimals[i]?.precision));
    this.buffers = this.columns.map((column, i) => {
      const parquetType = types[i] ?? "";
      const slot = json ? StageSlot.json : slotOf(parquetType, decimals[i]?.precision);
      return {
        column,
        slot,
        parquetType,
        state: new Uint8Array(this.#capacity),
        ints: new Int32Array(slot === StageSlot.int32 ? this.#capacity : 0),
        numbers: new Float64Array(slot === StageSlot.int64 || slot === StageSlot.float || slot === StageSlot.double ? this.#capacity : 0),
        refs: [],
        wide: new Map(),
      };
    });
  }

  /**
   * Appends a row's staged values and returns its index, or a string naming
   * the column and the reason it cannot be staged (then nothing is appended):
   * a value its column's type cannot hold, a SUPER value over 16 MB, a row
   * over COPY's 4 MB. Text longer than its VARCHAR's bytes is cut at a
   * character boundary.
   */
  append(row: Row): number | string {
    const index = this.length;
    if (index === this.#capacity) this.#grow();
    const buffers = this.buffers;
    const sources = this.#sources;
    const fast = this.#fast;
    let size = 0;
    for (let c = 0; c < buffers.length; c++) {
      const b = buffers[c] as StageColumnBuffer;
      const source = sources[c] as string;
      const value = source === "" ? null : (row[source] ?? null);
      if (value === null) {
        b.state[index] = 0;
        if (b.slot >= StageSlot.text) b.refs[index] = null;
        continue;
      }
      // the common values of each type, stored in this loop (one switch, no closure call, no allocation)
      switch (fast[c]) {
        case FAST_STRING:
          if (typeof value === "string") {
            const limit = this.#byteLimits[c] as number;
            const text = limit === 0 || value.length * 3 <= limit ? value : cutToBytes(value, limit);
            b.refs[index] = text;
            b.state[index] = 1;
            size += text.length;
            continue;
          }
          break;
        case FAST_LONG:
          if (typeof value === "bigint" && value >= MIN_SAFE && value <= MAX_SAFE) {
            b.numbers[index] = Number(value);
            b.state[index] = 1;
            size += 8;
            continue;
          }
          break;
        case FAST_NUMBER:
          if (typeof value === "number") {
            if (b.slot === StageSlot.int32) {
              if ((value | 0) !== value) return this.#refusal(c, "not a 32-bit integer");
              b.ints[index] = value;
            } else b.numbers[index] = value;
            b.state[index] = 1;
            size += 8;
            continue;
          }
          break;
        case FAST_BOOLEAN:
          if (typeof value === "boolean") {
            b.state[index] = value ? 2 : 1;
            size += 8;
            continue;
          }
          break;
        case FAST_TIMESTAMPTZ:
          if (typeof value === "string") {
            const micros = utcIsoMicros(value);
            if (micros !== undefined) {
              b.numbers[index] = micros;
              b.state[index] = 1;
              size += 8;
              continue;
            }
          }
          break;
        case FAST_DECIMAL:
          if (typeof value === "string") {
            const unscaled = shortUnscaled(value, this.#precision[c] as number, this.#scale[c] as number);
            if (unscaled !== undefined) {
              if (b.slot === StageSlot.int32) b.ints[index] = unscaled;
              else b.numbers[index] = unscaled;
              b.state[index] = 1;
              size += 8;
              continue;
            }
          }
          break;
        default:
          break;
      }
      const column = b.column;
      try {
        if (b.slot === StageSlot.json) {
          const text = jsonCell(column.type, value, this.#limits[c]);
          if (column.type === "SUPER" && text.length > REDSHIFT_MAX_SUPER_BYTES / 4 && Buffer.byteLength(text) > REDSHIFT_MAX_SUPER_BYTES) {
            return `column ${column.name} (SUPER): value of ${Buffer.byteLength(text)} bytes exceeds Redshift's 16 MB SUPER value`;
          }
          b.refs[index] = text;
          b.state[index] = 1;
          size += text.length + column.name.length + 4;
          continue;
        }
        const v = (this.#converters[c] as Converter)(value);
        const reason = store(b, index, v);
        if (reason !== undefined) return this.#refusal(c, reason);
        size += typeof v === "string" ? v.length : v instanceof Uint8Array ? v.byteLength : 8;
      } catch (error) {
        return this.#refusal(c, error instanceof Error ? error.message : String(error));
      }
    }
    if (size > REDSHIFT_MAX_COPY_ROW_BYTES) return `row of about ${size} bytes exceeds Redshift COPY's 4 MB per row`;
    this.length = index + 1;
    return index;
  }

  /** The staged value of column `column` in row `index` (null, boolean, number, bigint, string or bytes). */
  cell(index: number, column: number): unknown {
    const b = this.buffers[column] as StageColumnBuffer;
    const state = b.state[index];
    if (state === 0 || state === undefined) return null;
    switch (b.slot) {
      case StageSlot.boolean:
        return state === 2;
      case StageSlot.int32:
        return b.ints[index];
      case StageSlot.int64:
        return state === 2 ? b.wide.get(index) : b.numbers[index];
      case StageSlot.float:
      case StageSlot.double:
        return b.numbers[index];
      default:
        return b.refs[index];
    }
  }

  /** Copies column `column`'s value of row `from` into row `to`. */
  copyCell(from: number, to: number, column: number): void {
    const b = this.buffers[column] as StageColumnBuffer;
    const state = b.state[from] ?? 0;
    b.state[to] = state;
    if (b.ints.length > 0) b.ints[to] = b.ints[from] ?? 0;
    if (b.numbers.length > 0) b.numbers[to] = b.numbers[from] ?? 0;
    if (b.slot >= StageSlot.text) b.refs[to] = b.refs[from] ?? null;
    const wide = b.wide.get(from);
    if (state === 2 && wide !== undefined) b.wide.set(to, wide);
  }

  /** Forgets every row, keeping the buffers (and their capacity) for the next batch. */
  reset(): void {
    this.length = 0;
    for (const b of this.buffers) {
      // nulls rather than a shorter array: the strings go, the array's capacity stays
      b.refs.fill(null);
      b.wide.clear();
    }
  }

  /**
   * One staged file of the rows at `rows` (indices, in file order; default
   * every row in append order): Parquet (Snappy pages, string
   * dictionaries, min/max statistics) or JSON lines, as {@link format} says.
   */
  file(rows?: Int32Array): Uint8Array {
    let selection = rows;
    if (selection === undefined) {
      selection = new Int32Array(this.length);
      for (let i = 0; i < selection.length; i++) selection[i] = i;
    }
    if (this.format === "parquet") return writeStageParquet(this.buffers, selection);
    const keys = this.columns.map((c) => JSON.stringify(c.name));
    const lines: string[] = [];
    for (const r of selection) {
      let line = "{";
      for (let c = 0; c < this.buffers.length; c++) {
        const b = this.buffers[c] as StageColumnBuffer;
        // an absent key loads as NULL
        if (b.state[r] === 0) continue;
        line += `${line.length === 1 ? "" : ","}${keys[c] as string}:${b.refs[r] as string}`;
      }
      lines.push(`${line}}\n`);
    }
    return Buffer.from(lines.join(""), "utf8");
  }

  #refusal(column: number, reason: string): string {
    const c = this.columns[column] as StageColumn;
    return `column ${c.name} (${c.type}): ${reason}`;
  }

  #grow(): void {
    const capacity = this.#capacity * 2;
    for (const b of this.buffers) {
      const state = new Uint8Array(capacity);
      state.set(b.state);
      b.state = state;
      if (b.ints.length > 0) {
        const ints = new Int32Array(capacity);
        ints.set(b.ints);
        b.ints = ints;
      }
      if (b.numbers.length > 0) {
        const numbers = new Float64Array(capacity);
        numbers.set(b.numbers);
        b.numbers = numbers;
      }
    }
    this.#capacity = capacity;
  }
}

/** Stores a converted value in row `index`; returns why it does not fit its slot, or undefined. */
function store(b: StageColumnBuffer, index: number, v: unknown): string | undefined {
  switch (b.slot) {
    case StageSlot.boolean:
      if (typeof v !== "boolean") return `a ${typeof v} where a boolean belongs`;
      b.state[index] = v ? 2 : 1;
      return undefined;
    case StageSlot.int32: {
      const n = typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : Number.NaN;
      if ((n | 0) !== n) return b.parquetType === "int" || b.parquetType === "date" ? "not a 32-bit integer" : "not an unscaled decimal of at most 9 digits";
      b.ints[index] = n;
      b.state[index] = 1;
      return undefined;
    }
    case StageSlot.int64:
      if (typeof v === "number") {
        if (!Number.isSafeInteger(v)) return "not a 64-bit integer";
        b.numbers[index] = v;
        b.state[index] = 1;
        return undefined;
      }
      if (typeof v !== "bigint") return "not a 64-bit integer";
      if (v >= MIN_SAFE && v <= MAX_SAFE) {
        b.numbers[index] = Number(v);
        b.state[index] = 1;
        return undefined;
      }
      if (v > MAX_INT64 || v < MIN_INT64) return "outside the 64-bit range";
      b.wide.set(index, v);
      b.state[index] = 2;
      return undefined;
    case StageSlot.float:
    case StageSlot.double:
      if (typeof v !== "number") return `a ${typeof v} where a number belongs`;
      b.numbers[index] = v;
      b.state[index] = 1;
      return undefined;
    case StageSlot.text:
      if (typeof v !== "string") return `a ${typeof v} where a string belongs`;
      break;
    case StageSlot.binary:
      if (!(v instanceof Uint8Array)) return `a ${typeof v} where bytes belong`;
      break;
    case StageSlot.wideDecimal:
      if (typeof v !== "bigint") return "not an unscaled decimal";
      break;
    default:
      break;
  }
  b.refs[index] = v;
  b.state[index] = 1;
  return undefined;
}

function slotOf(type: string, precision: number | undefined): StageSlotKind {
  switch (type) {
    case "boolean":
      return StageSlot.boolean;
    case "int":
    case "date":
      return StageSlot.int32;
    case "long":
    case "timestamp":
    case "timestamptz":
      return StageSlot.int64;
    case "float":
      return StageSlot.float;
    case "double":
      return StageSlot.double;
    case "binary":
      return StageSlot.binary;
    case "string":
      return StageSlot.text;
    default:
      if (precision === undefined) return StageSlot.text;
      return precision <= 9 ? StageSlot.int32 : precision <= 18 ? StageSlot.int64 : StageSlot.wideDecimal;
  }
}

function fastOf(type: string, precision: number | undefined): number {
  switch (type) {
    case "string":
      return FAST_STRING;
    case "long":
      return FAST_LONG;
    // an int column takes a number as it is; the append loop checks the 32-bit range
    case "int":
    case "double":
    case "float":
      return FAST_NUMBER;
    case "boolean":
      return FAST_BOOLEAN;
    case "timestamptz":
      return FAST_TIMESTAMPTZ;
    default:
      // a decimal of up to 18 digits: a plain string of up to 15 digits is a safe number
      return precision !== undefined && precision <= 18 ? FAST_DECIMAL : FAST_NONE;
  }
}
