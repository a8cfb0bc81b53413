import type { IcebergValue } from "../iceberg-value-codec.js";
import type { FlatColumnEncoder } from "./flat-column-encoder.js";
import { writeFixedBigInt } from "./flat-column-encoder.js";

/** Byte arrays longer than this get no Parquet min/max (the Iceberg bounds are truncated separately). */
const MAX_STATISTIC_BYTES = 64;

/**
 * The PLAIN encoding of a column-chunk min or max (parquet.thrift
 * `Statistics.min_value/max_value`), or undefined when it is not written.
 * Float zero bounds follow the spec: a min of 0 is written as -0, a max as +0.
 */
export function encodeStatisticValue(encoder: FlatColumnEncoder, value: IcebergValue, bound: "min" | "max"): Uint8Array | undefined {
  switch (encoder.kind) {
    case "boolean":
      return Uint8Array.of(value === true ? 1 : 0);
    case "int32":
    case "decimal32": {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setInt32(0, Number(value), true);
      return out;
    }
    case "int64": {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigInt64(0, value as bigint, true);
      return out;
    }
    case "float":
    case "double": {
      const n = value as number;
      const z = n === 0 ? (bound === "min" ? -0 : 0) : n;
      const out = new Uint8Array(encoder.kind === "float" ? 4 : 8);
      const view = new DataView(out.buffer);
      if (encoder.kind === "float") view.setFloat32(0, z, true);
      else view.setFloat64(0, z, true);
      return out;
    }
    case "string": {
      const out = Buffer.from(value as string, "utf8");
      return out.length > MAX_STATISTIC_BYTES ? undefined : new Uint8Array(out);
    }
    case "binary": {
      const b = value as Uint8Array;
      return b.length > MAX_STATISTIC_BYTES ? undefined : b;
    }
    case "fixed":
      return value as Uint8Array;
    case "decimalFixed": {
      const out = new Uint8Array(encoder.width);
      writeFixedBigInt(out, 0, value as bigint, encoder.width);
      return out;
    }
  }
}
