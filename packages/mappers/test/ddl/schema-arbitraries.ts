import fc from "fast-check";
import type { ColumnSchema, LogicalType, TableSchema } from "@zero-etl/core";

/** Types that every target can create, for schema generators. */
export const logicalTypeArb: fc.Arbitrary<LogicalType> = fc.oneof(
  fc.constant<LogicalType>({ kind: "bool" }),
  fc.constantFrom<8 | 16 | 32 | 64>(16, 32, 64).map((bits): LogicalType => ({ kind: "int", bits, signed: true })),
  fc.constantFrom<32 | 64>(32, 64).map((bits): LogicalType => ({ kind: "float", bits })),
  fc.tuple(fc.integer({ min: 1, max: 38 }), fc.integer({ min: 0, max: 10 })).map(([p, s]): LogicalType => ({ kind: "decimal", precision: Math.max(p, s), scale: s })),
  fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }).map((n): LogicalType => (n === undefined ? { kind: "string" } : { kind: "string", maxLength: n })),
  fc.constant<LogicalType>({ kind: "date" }),
  fc.integer({ min: 0, max: 6 }).chain((precision) => fc.boolean().map((withZone): LogicalType => ({ kind: "timestamp", precision, withZone }))),
  fc.constant<LogicalType>({ kind: "uuid" }),
  fc.constant<LogicalType>({ kind: "json" }),
  fc.constant<LogicalType>({ kind: "bytes" }),
);

const names = ["id", "name", "price", "Mixed Case", 'quo"te', "dot.ted", "a/b", "t~ilde", "ünï", "created_at", "x", "y"];

/** Table schemas with unique column names drawn from a pool that includes awkward identifiers. */
export const tableSchemaArb: fc.Arbitrary<TableSchema> = fc
  .uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 8 })
  .chain((cols) =>
    fc
      .tuple(
        fc.tuple(...cols.map((name) => fc.record({ type: logicalTypeArb, nullable: fc.boolean(), sourceType: fc.option(fc.constantFrom("text", "int4", "numeric"), { nil: undefined }) }).map((c): ColumnSchema => (c.sourceType === undefined ? { name, type: c.type, nullable: c.nullable } : { name, type: c.type, nullable: c.nullable, sourceType: c.sourceType })))),
        fc.subarray(cols),
      )
            // a source never reports a nullable key column
      .map(([columns, primaryKey]): TableSchema => ({
        table: { namespace: "app", name: "t" },
        columns: columns.map((c) => (primaryKey.includes(c.name) ? { ...c, nullable: false } : c)),
        primaryKey,
        version: 1,
      })),
  );
