import { bigIntToMinimalBytes, civilFromDays, microsToDays, parseDecimalType } from "./iceberg-value-codec.js";
import type { IcebergValue } from "./iceberg-value-codec.js";

/** A parsed partition transform. */
export type PartitionTransform =
  | { readonly kind: "identity" }
  | { readonly kind: "bucket"; readonly n: number }
  | { readonly kind: "truncate"; readonly width: number }
  | { readonly kind: "year" | "month" | "day" | "hour" };

/** Parses `identity`, `bucket[N]`, `truncate[W]`, `year`, `month`, `day`, `hour`; undefined when unknown. */
export function parsePartitionTransform(text: string): PartitionTransform | undefined {
  if (text === "identity" || text === "year" || text === "month" || text === "day" || text === "hour") {
    return text === "identity" ? { kind: "identity" } : { kind: text };
  }
  const m = /^(bucket|truncate)\[(\d+)\]$/.exec(text);
  if (m === null || Number(m[2]) <= 0) return undefined;
  return m[1] === "bucket" ? { kind: "bucket", n: Number(m[2]) } : { kind: "truncate", width: Number(m[2]) };
}

/** The Iceberg result type of a transform applied to a source type (spec "Partition Transforms"). */
export function transformResultType(transform: PartitionTransform, sourceType: string): string {
  switch (transform.kind) {
    case "identity":
    case "truncate":
      return sourceType;
    case "day":
      return "date";
    default:
      return "int";
  }
}

/** Whether a transform accepts a source type. */
export function isTransformApplicable(transform: PartitionTransform, sourceType: string): boolean {
  const temporal = sourceType === "date" || sourceType === "timestamp" || sourceType === "timestamptz";
  switch (transform.kind) {
    case "identity":
      return true;
    case "bucket":
      return ["int", "long", "date", "time", "timestamp", "timestamptz", "string", "uuid", "binary"].includes(sourceType) || parseDecimalType(sourceType) !== undefined;
    case "truncate":
      return ["int", "long", "string", "binary"].includes(sourceType) || parseDecimalType(sourceType) !== undefined;
    case "hour":
      return sourceType === "timestamp" || sourceType === "timestamptz";
    default:
      return temporal;
  }
}

const MICROS_PER_HOUR = 3_600_000_000n;

/** Applies a transform to a non-null Iceberg value; the result is the partition value in Iceberg form. */
export function applyPartitionTransform(transform: PartitionTransform, sourceType: string, value: IcebergValue): IcebergValue {
  switch (transform.kind) {
    case "identity":
      return value;
    case "bucket":
      return (hashValue(sourceType, value) & 0x7fffffff) % transform.n;
    case "truncate": {
      const w = transform.width;
      if (typeof value === "number") return value - (((value % w) + w) % w);
      if (typeof value === "bigint") {
        const bw = BigInt(w);
        return value - (((value % bw) + bw) % bw);
      }
      if (typeof value === "string") return Array.from(value).slice(0, w).join("");
      if (value instanceof Uint8Array) return value.subarray(0, w);
      return value;
    }
    case "year":
    case "month":
    case "day": {
      const days = sourceType === "date" ? (value as number) : microsToDays(value as bigint);
      if (transform.kind === "day") return days;
      // not through Date: its range ends in year 275760, PostgreSQL dates (and the ±infinity sentinels) go further
      const d = civilFromDays(days);
      const years = d.year - 1970;
      return transform.kind === "year" ? years : years * 12 + d.month - 1;
    }
    case "hour": {
      const micros = value as bigint;
      let hours = micros / MICROS_PER_HOUR;
      if (micros % MICROS_PER_HOUR < 0n) hours -= 1n;
      return Number(hours);
    }
  }
}

/** Murmur3 x86 32-bit hash of a value as Appendix B specifies per type. */
export function hashValue(type: string, value: IcebergValue): number {
  switch (type) {
    case "int":
    case "date":
      return murmur3(longBytes(BigInt(value as number)));
    case "long":
    case "time":
    case "timestamp":
    case "timestamptz":
      return murmur3(longBytes(value as bigint));
    case "string":
      return murmur3(Buffer.from(value as string, "utf8"));
    case "uuid":
    case "binary":
      return murmur3(value as Uint8Array);
    default:
      if (parseDecimalType(type) !== undefined) return murmur3(bigIntToMinimalBytes(value as bigint));
      throw new RangeError(`iceberg type ${type} cannot be bucketed`);
  }
}

function longBytes(v: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt.asIntN(64, v));
  return b;
}

/** Murmur3 x86_32 with seed 0, returning a signed 32-bit int like Java's Guava. */
export function murmur3(data: Uint8Array): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const len = data.length;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = ((data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24)) >>> 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (data[blocks + 2] ?? 0) << 16;
    if (tail >= 2) k ^= (data[blocks + 1] ?? 0) << 8;
    k ^= data[blocks] ?? 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
