import { describe, expect, it } from "vitest";
import type { ColumnSchema, Row, TableSchema } from "@zero-etl/core";
import { DebeziumTableEncoder } from "@zero-etl/sinks/kafka";
import { DebeziumTableDecoder, quoteLongIntegers, splitEnvelope, type ConnectSchemaJson } from "@zero-etl/sources/kafka";

const schema: TableSchema = {
  table: { namespace: "public", name: "things" },
  primaryKey: ["id"],
  version: 3,
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "u64", type: { kind: "int", bits: 64, signed: false }, nullable: true },
    { name: "small", type: { kind: "int", bits: 16, signed: true }, nullable: true },
    { name: "amount", type: { kind: "decimal", precision: 38, scale: 10 }, nullable: true },
    { name: "ratio", type: { kind: "float", bits: 64 }, nullable: true },
    { name: "flag", type: { kind: "bool" }, nullable: true },
    { name: "day", type: { kind: "date" }, nullable: true },
    { name: "at", type: { kind: "time", precision: 6, withZone: false }, nullable: true },
    { name: "ts", type: { kind: "timestamp", precision: 6, withZone: false }, nullable: true },
    { name: "tstz", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
    { name: "doc", type: { kind: "json" }, nullable: true },
    { name: "raw", type: { kind: "bytes" }, nullable: true },
    { name: "tags", type: { kind: "list", element: { kind: "string" } }, nullable: true },
    { name: "point", type: { kind: "struct", fields: [{ name: "x", type: { kind: "int", bits: 64, signed: true }, nullable: false }] }, nullable: true },
    { name: "mood", type: { kind: "string", enumValues: ["happy", "sad"] }, nullable: true, sourceType: "mood" },
    { name: "attrs", type: { kind: "map", key: { kind: "string" }, value: { kind: "string" } }, nullable: true, sourceType: "hstore" },
  ],
};

function roundTrip(row: Row): Row | undefined {
  const encoder = new DebeziumTableEncoder(schema, "p", undefined);
  const text = encoder.value("c", undefined, row, { tsMs: 1, snapshot: false, txId: "7", position: "0/1" }, 2);
  const split = splitEnvelope(text);
  expect(split).toBeDefined();
  const decoder = new DebeziumTableDecoder(schema.table, JSON.parse(split?.schemaText ?? "") as ConnectSchemaJson, [], 1);
  expect(decoder.schema).toEqual(schema);
  const payload = JSON.parse(quoteLongIntegers(split?.payloadText ?? "")) as { after: unknown; op: string };
  expect(payload.op).toBe("c");
  return decoder.row(payload.after);
}

describe("Debezium JSON envelopes written by the Kafka sink and read by the Kafka source", () => {
  it("keep every value and the table schema exactly", () => {
    const rows: Row[] = [
      {
        id: 9223372036854775807n, u64: 18446744073709551615n, small: -32768, amount: "-1234567890123456789012345678.0123456789", ratio: 0.1,
        flag: true, day: "2026-03-01", at: "23:59:59.999999", ts: "2026-01-02T03:04:05.123456", tstz: "2026-01-02T03:04:05.5Z",
        doc: '{"n": 123456789012345678901234567890, "s": ":12345678901234567,"}', raw: new Uint8Array([0, 255, 7]),
        tags: ["x", null, 'y"z'], point: { x: -9223372036854775808n }, mood: "sad",
        attrs: '{"a":"1","b":null,"c\\"d":"é"}',
      },
      {
        id: -9223372036854775808n, u64: null, small: null, amount: null, ratio: null, flag: false, day: "-0044-03-15", at: "-838:59:59",
        ts: "1969-12-31T23:59:59.999999", tstz: null, doc: null, raw: null, tags: [], point: null, mood: null, attrs: null,
      },
      { id: 0n, u64: 0n, small: 0, amount: "0", ratio: -0.5, flag: null, day: "0001-01-01", at: "00:00:00", ts: "infinity", tstz: null, doc: "[]", raw: new Uint8Array(), tags: null, point: { x: 1n }, mood: "happy", attrs: "{}" },
    ];
    for (const row of rows) expect(roundTrip(row)).toEqual(row);
  });

  it("quotes only long integers outside strings", () => {
    expect(quoteLongIntegers('{"a":12345678901234567,"b":"12345678901234567","c":1.2345678901234567,"d":[-9223372036854775808]}')).toBe(
      '{"a":"12345678901234567","b":"12345678901234567","c":1.2345678901234567,"d":["-9223372036854775808"]}',
    );
    expect(quoteLongIntegers('{"s":"a\\":12345678901234567"}')).toBe('{"s":"a\\":12345678901234567"}');
  });

  it("reads a record of an older version without the columns a newer applied schema lacks", () => {
    const older: TableSchema = {
      table: { namespace: "public", name: "t" },
      primaryKey: ["id"],
      version: 2,
      columns: [
        { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
        { name: "gone", type: { kind: "string" }, nullable: true },
        { name: "a", type: { kind: "string" }, nullable: true },
      ],
    };
    const added: ColumnSchema = { name: "b", type: { kind: "string" }, nullable: true };
    const newer: TableSchema = { ...older, version: 3, columns: [...older.columns.filter((c) => c.name !== "gone"), added] };
    const text = new DebeziumTableEncoder(older, "p", undefined).value("c", undefined, { id: 1, gone: "x", a: "y" }, { tsMs: 1, snapshot: false, txId: undefined, position: undefined }, 2);
    const split = splitEnvelope(text);
    const decoder = new DebeziumTableDecoder(older.table, JSON.parse(split?.schemaText ?? "") as ConnectSchemaJson, [], 1);
    expect(decoder.schema.version).toBe(2);
    const only = decoder.projectionOnto(newer);
    expect(only).toBeDefined();
    const payload = JSON.parse(split?.payloadText ?? "") as { after: unknown };
    expect(decoder.row(payload.after, undefined, only)).toEqual({ id: 1, a: "y" });
    // the same columns: nothing to leave out
    expect(decoder.projectionOnto({ ...older, version: 4 })).toBeUndefined();
    // a column renamed since (a -> a2 -> a3) is read under its applied name
    const renamedSince: TableSchema = { ...newer, version: 5, columns: newer.columns.map((c) => (c.name === "a" ? { ...c, name: "a3" } : c)) };
    const again = new DebeziumTableDecoder(older.table, JSON.parse(split?.schemaText ?? "") as ConnectSchemaJson, [], 1);
    const renames = new Map([["a", "a2"], ["a2", "a3"]]);
    expect(again.row(payload.after, undefined, again.projectionOnto(renamedSince, renames))).toEqual({ id: 1, a3: "y" });
  });
});
