import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LogicalType } from "@zero-etl/core";
import {
  fromDynamoDbType,
  fromMysqlType,
  fromOracleType,
  fromPostgresType,
  toIcebergType,
  toOpenSearchType,
  toPostgresType,
  toRedshiftType,
} from "@zero-etl/mappers";
import type { DynamoDbAttributeType, TargetTypeMapping } from "@zero-etl/mappers";

describe("source type mapping", () => {
  it("maps PostgreSQL types, with typmods", () => {
    expect(fromPostgresType("int4")).toEqual({ kind: "int", bits: 32, signed: true });
    expect(fromPostgresType("numeric", ((12 << 16) | 2) + 4)).toEqual({ kind: "decimal", precision: 12, scale: 2 });
    expect(fromPostgresType("numeric")).toEqual({ kind: "decimal" });
    expect(fromPostgresType("numeric(38,10)")).toEqual({ kind: "decimal", precision: 38, scale: 10 });
    expect(fromPostgresType("character varying(20)")).toEqual({ kind: "string", maxLength: 20 });
    expect(fromPostgresType("varchar", 24)).toEqual({ kind: "string", maxLength: 20 });
    expect(fromPostgresType("timestamp(3) with time zone")).toEqual({ kind: "timestamp", precision: 3, withZone: true });
    expect(fromPostgresType("timestamptz")).toEqual({ kind: "timestamp", precision: 6, withZone: true });
    expect(fromPostgresType("_text")).toEqual({ kind: "list", element: { kind: "string" } });
    expect(fromPostgresType("int8[]")).toEqual({ kind: "list", element: { kind: "int", bits: 64, signed: true } });
    expect(fromPostgresType("jsonb")).toEqual({ kind: "json" });
    expect(fromPostgresType("mood_enum")).toEqual({ kind: "string" });
  });

  it("maps MySQL column types", () => {
    expect(fromMysqlType("int(11) unsigned")).toEqual({ kind: "int", bits: 32, signed: false });
    expect(fromMysqlType("bigint(20)")).toEqual({ kind: "int", bits: 64, signed: true });
    expect(fromMysqlType("decimal(65,30)")).toEqual({ kind: "decimal", precision: 65, scale: 30 });
    expect(fromMysqlType("datetime(6)")).toEqual({ kind: "timestamp", precision: 6, withZone: false });
    expect(fromMysqlType("timestamp")).toEqual({ kind: "timestamp", precision: 0, withZone: true });
    expect(fromMysqlType("time(6)")).toEqual({ kind: "interval" });
    expect(fromMysqlType("enum('a','it''s')")).toEqual({ kind: "string", enumValues: ["a", "it's"] });
    expect(fromMysqlType("varbinary(16)")).toEqual({ kind: "bytes", maxLength: 16 });
    expect(fromMysqlType("float")).toEqual({ kind: "float", bits: 32 });
    expect(fromMysqlType("json")).toEqual({ kind: "json" });
  });

  it("maps DynamoDB N to an exact decimal, never a double", () => {
    expect(fromDynamoDbType("N")).toEqual({ kind: "decimal" });
    expect(fromDynamoDbType("NS")).toEqual({ kind: "list", element: { kind: "decimal" } });
    expect(fromDynamoDbType("M")).toEqual({ kind: "json" });
    expect(fromDynamoDbType("BOOL")).toEqual({ kind: "bool" });
    expect(() => fromDynamoDbType("X" as DynamoDbAttributeType)).toThrow(/one of S, N/);
  });

  it("maps Oracle types", () => {
    expect(fromOracleType("NUMBER", { precision: 9, scale: 0 })).toEqual({ kind: "int", bits: 32, signed: true });
    expect(fromOracleType("NUMBER", { precision: 20, scale: 0 })).toEqual({ kind: "decimal", precision: 20, scale: 0 });
    expect(fromOracleType("NUMBER")).toEqual({ kind: "decimal" });
    expect(fromOracleType("NUMBER(12,2)")).toEqual({ kind: "decimal", precision: 12, scale: 2 });
    expect(fromOracleType("DATE")).toEqual({ kind: "timestamp", precision: 0, withZone: false });
    expect(fromOracleType("TIMESTAMP(9) WITH TIME ZONE")).toEqual({ kind: "timestamp", precision: 9, withZone: true });
    expect(fromOracleType("VARCHAR2", { length: 40 })).toEqual({ kind: "string", maxLength: 40 });
    expect(fromOracleType("BINARY_DOUBLE")).toEqual({ kind: "float", bits: 64 });
  });
});

describe("target type mapping", () => {
  it("respects Redshift's limits", () => {
    expect(toRedshiftType({ kind: "string", maxLength: 100 })).toEqual({ type: "VARCHAR(400)", decision: "exact" });
    expect(toRedshiftType({ kind: "string", maxLength: 20000 }).decision).toBe("truncated");
    expect(toRedshiftType({ kind: "decimal", precision: 38, scale: 10 })).toEqual({ type: "DECIMAL(38,10)", decision: "exact" });
    expect(toRedshiftType({ kind: "decimal", precision: 50, scale: 20 })).toMatchObject({ type: "DECIMAL(38,8)", decision: "truncated" });
    expect(toRedshiftType({ kind: "json" }).type).toBe("SUPER");
    expect(toRedshiftType({ kind: "timestamp", precision: 9, withZone: true })).toMatchObject({ type: "TIMESTAMPTZ", decision: "truncated" });
  });

  it("maps to Iceberg with nested ids and microsecond timestamps", () => {
    const struct: LogicalType = { kind: "struct", fields: [{ name: "a", type: { kind: "list", element: { kind: "int", bits: 64, signed: true } }, nullable: true }] };
    expect(toIcebergType(struct).type).toEqual({
      type: "struct",
      fields: [{ id: 1, name: "a", required: false, type: { type: "list", "element-id": 2, element: "long", "element-required": false } }],
    });
    expect(toIcebergType({ kind: "timestamp", precision: 9, withZone: false })).toMatchObject({ type: "timestamp", decision: "truncated" });
    expect(toIcebergType({ kind: "decimal", precision: 38, scale: 0 })).toEqual({ type: "decimal(38,0)", decision: "exact" });
  });

  it("maps to PostgreSQL and OpenSearch", () => {
    expect(toPostgresType({ kind: "int", bits: 64, signed: false })).toMatchObject({ type: "numeric(20,0)", decision: "widened" });
    expect(toPostgresType({ kind: "list", element: { kind: "string", maxLength: 3 } }).type).toBe("varchar(3)[]");
    // a PostgreSQL source's own type maps back to itself
    expect(toPostgresType({ kind: "string", native: { dialect: "postgres", name: "int4range" } })).toMatchObject({ type: "int4range", decision: "exact" });
    expect(toPostgresType({ kind: "json", native: { dialect: "postgres", name: "json" } }).type).toBe("json");
    expect(toPostgresType({ kind: "list", element: { kind: "decimal" }, native: { dialect: "postgres", name: "numeric[]" } }).type).toBe("numeric[]");
    expect(toOpenSearchType({ kind: "decimal", precision: 12, scale: 2 })).toEqual({ type: { type: "scaled_float", scaling_factor: 100 }, decision: "exact" });
    expect(toOpenSearchType({ kind: "decimal", precision: 30, scale: 2 }).type).toEqual({ type: "keyword" });
  });
});

// ---- property: no silent precision loss ------------------------------------

const typeArb: fc.Arbitrary<LogicalType> = fc.letrec<{ t: LogicalType }>((tie) => ({
  t: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant<LogicalType>({ kind: "bool" }),
    fc.tuple(fc.constantFrom<8 | 16 | 32 | 64>(8, 16, 32, 64), fc.boolean()).map(([bits, signed]): LogicalType => ({ kind: "int", bits, signed })),
    fc.constantFrom<32 | 64>(32, 64).map((bits): LogicalType => ({ kind: "float", bits })),
    fc.option(fc.tuple(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 60 })), { nil: undefined }).map((ps): LogicalType =>
      ps === undefined ? { kind: "decimal" } : { kind: "decimal", precision: Math.max(ps[0], ps[1]), scale: ps[1] },
    ),
    fc.option(fc.integer({ min: 1, max: 100000 }), { nil: undefined }).map((n): LogicalType => (n === undefined ? { kind: "string" } : { kind: "string", maxLength: n })),
    fc.option(fc.integer({ min: 1, max: 2000000 }), { nil: undefined }).map((n): LogicalType => (n === undefined ? { kind: "bytes" } : { kind: "bytes", maxLength: n })),
    fc.constant<LogicalType>({ kind: "date" }),
    fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()).map(([precision, withZone]): LogicalType => ({ kind: "time", precision, withZone })),
    fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()).map(([precision, withZone]): LogicalType => ({ kind: "timestamp", precision, withZone })),
    fc.constant<LogicalType>({ kind: "uuid" }),
    fc.constant<LogicalType>({ kind: "json" }),
    tie("t").map((element): LogicalType => ({ kind: "list", element })),
  ),
}))["t"];

interface Range {
  readonly min: bigint;
  readonly max: bigint;
  readonly frac: number;
}

/** The integer range and fraction digits of a source type's values, or undefined when unbounded. */
function neededRange(type: LogicalType): Range | undefined {
  if (type.kind === "int") {
    const bits = BigInt(type.bits);
    return type.signed ? { min: -(2n ** (bits - 1n)), max: 2n ** (bits - 1n) - 1n, frac: 0 } : { min: 0n, max: 2n ** bits - 1n, frac: 0 };
  }
  if (type.kind === "decimal" && type.precision !== undefined) {
    const max = 10n ** BigInt(type.precision - (type.scale ?? 0)) - 1n;
    return { min: -max, max, frac: type.scale ?? 0 };
  }
  return undefined;
}

/** The range a target type holds, read from the rendered type name (an oracle independent of the mappers' own logic). */
function heldRange(name: string): Range | "unbounded" | undefined {
  const lower = name.toLowerCase();
  const decimal = /^(?:decimal|numeric)\((\d+),\s*(\d+)\)/.exec(lower);
  if (decimal !== null) {
    const max = 10n ** BigInt(Number(decimal[1]) - Number(decimal[2])) - 1n;
    return { min: -max, max, frac: Number(decimal[2]) };
  }
  if (lower === "numeric" || lower === "keyword" || lower === "string") return "unbounded";
  const signed = (bits: bigint): Range => ({ min: -(2n ** (bits - 1n)), max: 2n ** (bits - 1n) - 1n, frac: 0 });
  const ints: Record<string, Range> = {
    byte: signed(8n),
    short: signed(16n),
    smallint: signed(16n),
    integer: signed(32n),
    int: signed(32n),
    bigint: signed(64n),
    long: signed(64n),
    unsigned_long: { min: 0n, max: 2n ** 64n - 1n, frac: 0 },
  };
  return ints[lower];
}

function typeName(mapping: TargetTypeMapping<unknown>): string {
  const t = mapping.type;
  if (typeof t === "string") return t;
  if (typeof t === "object" && t !== null && "type" in t && typeof t.type === "string") return t.type;
  return "";
}

const targets = { postgres: toPostgresType, redshift: toRedshiftType, iceberg: (t: LogicalType) => toIcebergType(t), opensearch: toOpenSearchType } as const;

describe("maps (hstore) on every target", () => {
  it("maps hstore to map<string, string> and that to each target's map or JSON type", () => {
    const hstore = fromPostgresType("hstore");
    expect(hstore).toEqual({ kind: "map", key: { kind: "string" }, value: { kind: "string" } });
    expect(toIcebergType(hstore).type).toEqual({ type: "map", "key-id": 1, key: "string", "value-id": 2, value: "string", "value-required": false });
    expect(toIcebergType(hstore).decision).toBe("exact");
    expect(toOpenSearchType(hstore)).toMatchObject({ type: { type: "flat_object" }, decision: "widened" });
    expect(toRedshiftType(hstore).type).toBe("SUPER");
    expect(toPostgresType(hstore).type).toBe("jsonb");
    expect(toPostgresType({ ...hstore, native: { dialect: "postgres", name: "hstore" } })).toMatchObject({ type: "hstore", decision: "exact" });
  });
});

describe("property: mapping never loses precision without saying so", () => {
  for (const [target, map] of Object.entries(targets)) {
    it(`${target}`, () => {
      fc.assert(
        fc.property(typeArb, (type) => {
          const mapping = map(type) as TargetTypeMapping<unknown>;
          // whatever the decision, the type must be one the target accepts
          const declared = /^(?:decimal|numeric)\((\d+),/i.exec(typeName(mapping));
          if (declared !== null && (target === "redshift" || target === "iceberg")) expect(Number(declared[1])).toBeLessThanOrEqual(38);
          const varchar0 = /^VARCHAR\((\d+)\)$/.exec(typeName(mapping));
          if (varchar0 !== null) expect(Number(varchar0[1])).toBeLessThanOrEqual(65535);
          const lossless = mapping.decision === "exact" || mapping.decision === "widened";
          if (mapping.decision !== "exact") expect(mapping.note ?? "").not.toBe("");
          if (!lossless) return;
          // the source value range must fit the target's declared range
          const need = neededRange(type);
          const held = heldRange(typeName(mapping));
          if ((type.kind === "int" || type.kind === "decimal") && held !== "unbounded") {
            if (type.kind === "decimal" && typeName(mapping) === "scaled_float") expect(type.precision ?? Infinity).toBeLessThanOrEqual(15);
            else {
              expect(held, `${JSON.stringify(type)} -> ${typeName(mapping)}`).toBeDefined();
              expect(need, `${JSON.stringify(type)} is unbounded but ${typeName(mapping)} is not`).toBeDefined();
              if (need !== undefined && held !== undefined) {
                expect(held.max >= need.max && held.min <= need.min, `${JSON.stringify(type)} -> ${typeName(mapping)}`).toBe(true);
                expect(held.frac).toBeGreaterThanOrEqual(need.frac);
              }
            }
          }
          // sub-microsecond digits only survive where the target keeps nanoseconds
          if ((type.kind === "timestamp" || type.kind === "time") && type.precision > 6) {
            expect(["date_nanos", "keyword", "string"]).toContain(typeName(mapping));
          }
          // bounded text targets must hold the longest value, at 4 bytes per character
          const varchar = /^VARCHAR\((\d+)\)$/.exec(typeName(mapping));
          if (type.kind === "string" && varchar !== null) {
            expect(type.maxLength).toBeDefined();
            expect(Number(varchar[1])).toBeGreaterThanOrEqual((type.maxLength ?? 0) * 4);
          }
          const varbyte = /^VARBYTE\((\d+)\)$/.exec(typeName(mapping));
          if (type.kind === "bytes" && varbyte !== null) expect(Number(varbyte[1])).toBeGreaterThanOrEqual(type.maxLength ?? Infinity);
          if (type.kind === "float") expect(["real", "double precision", "REAL", "DOUBLE PRECISION", "float", "double"]).toContain(typeName(mapping));
          if (type.kind === "float" && type.bits === 64) expect(typeName(mapping).toLowerCase()).toMatch(/double/);
        }),
        { numRuns: 1000 },
      );
    });
  }
});
