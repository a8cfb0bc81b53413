import { describe, expect, it } from "vitest";
import { ZeroEtlError } from "@zero-etl/core";
import { fromOracleType, type OracleColumnType } from "../../src/oracle/oracle-column-type.js";
import type { OracleRedoLiteral } from "../../src/oracle/oracle-redo-statement.js";
import { OracleRedoSlots } from "../../src/oracle/oracle-redo-slots.js";
import { decodeOracleLiteral, decodeOracleSlotAs } from "../../src/oracle/oracle-value-decoder.js";

const str = (value: string): OracleRedoLiteral => ({ kind: "string", value });
const num = (text: string): OracleRedoLiteral => ({ kind: "number", text });
const call = (fn: string, ...args: string[]): OracleRedoLiteral => ({ kind: "call", fn, args });

describe("fromOracleType", () => {
  it.each<[OracleColumnType, unknown]>([
    [{ dataType: "NUMBER" }, { kind: "decimal" }],
    [{ dataType: "NUMBER", precision: 2, scale: 0 }, { kind: "int", bits: 8, signed: true }],
    [{ dataType: "NUMBER", precision: 4, scale: 0 }, { kind: "int", bits: 16, signed: true }],
    [{ dataType: "NUMBER", precision: 9, scale: 0 }, { kind: "int", bits: 32, signed: true }],
    [{ dataType: "NUMBER", precision: 18, scale: 0 }, { kind: "int", bits: 64, signed: true }],
    [{ dataType: "NUMBER", precision: 19, scale: 0 }, { kind: "decimal", precision: 19, scale: 0 }],
    [{ dataType: "NUMBER", precision: null, scale: 0 }, { kind: "decimal", precision: 38, scale: 0 }],
    [{ dataType: "NUMBER", precision: 10, scale: 2 }, { kind: "decimal", precision: 10, scale: 2 }],
    [{ dataType: "NUMBER", precision: 5, scale: -3 }, { kind: "int", bits: 32, signed: true }],
    [{ dataType: "NUMBER", precision: 2, scale: 5 }, { kind: "decimal", precision: 5, scale: 5 }],
    [{ dataType: "FLOAT", precision: 126 }, { kind: "decimal" }],
    [{ dataType: "BINARY_FLOAT" }, { kind: "float", bits: 32 }],
    [{ dataType: "BINARY_DOUBLE" }, { kind: "float", bits: 64 }],
    [{ dataType: "VARCHAR2", length: 400, charLength: 100 }, { kind: "string", maxLength: 100 }],
    [{ dataType: "NCHAR", length: 20, charLength: 10 }, { kind: "string", maxLength: 10 }],
    [{ dataType: "CLOB" }, { kind: "string" }],
    [{ dataType: "NCLOB" }, { kind: "string" }],
    [{ dataType: "XMLTYPE" }, { kind: "string" }],
    [{ dataType: "LONG" }, { kind: "string" }],
    [{ dataType: "RAW", length: 16 }, { kind: "bytes", maxLength: 16 }],
    [{ dataType: "BLOB" }, { kind: "bytes" }],
    [{ dataType: "DATE" }, { kind: "timestamp", precision: 0, withZone: false }],
    [{ dataType: "TIMESTAMP(3)", scale: 3 }, { kind: "timestamp", precision: 3, withZone: false }],
    [{ dataType: "TIMESTAMP(9)", scale: 9 }, { kind: "timestamp", precision: 6, withZone: false }],
    [{ dataType: "TIMESTAMP(6) WITH TIME ZONE", scale: 6 }, { kind: "timestamp", precision: 6, withZone: true }],
    [{ dataType: "TIMESTAMP(6) WITH LOCAL TIME ZONE", scale: 6 }, { kind: "timestamp", precision: 6, withZone: true }],
    [{ dataType: "INTERVAL YEAR(2) TO MONTH" }, { kind: "interval" }],
    [{ dataType: "INTERVAL DAY(2) TO SECOND(6)" }, { kind: "interval" }],
  ])("maps %j", (column, expected) => {
    expect(fromOracleType(column)).toEqual(expected);
  });

  it("refuses a type LogMiner delivers no value for, naming it", () => {
    expect(() => fromOracleType({ dataType: "BFILE" })).toThrow(/BFILE is not supported/);
    expect(() => fromOracleType({ dataType: "SDO_GEOMETRY" })).toThrow(ZeroEtlError);
  });
});

const DECODES: [OracleRedoLiteral, OracleColumnType, unknown][] = [
  // plain digits are read without the regular expression: the same values as the general form
  [str("-0"), { dataType: "NUMBER", precision: 5, scale: 0 }, 0],
  [str("-0"), { dataType: "NUMBER", precision: 18, scale: 0 }, 0n],
  [str("007"), { dataType: "NUMBER", precision: 5, scale: 0 }, 7],
  [str("+5"), { dataType: "NUMBER", precision: 5, scale: 0 }, 5],
  [str("-2147483648"), { dataType: "NUMBER", precision: 9, scale: 0 }, -2147483648],
  [str("123456789012345678"), { dataType: "NUMBER", precision: 18, scale: 0 }, 123456789012345678n],
  [str("5."), { dataType: "NUMBER" }, "5"],
  [str("-0.000"), { dataType: "NUMBER", precision: 10, scale: 2 }, "0.00"],
  [str("0012.3400"), { dataType: "NUMBER" }, "12.34"],
  [str("1e3"), { dataType: "NUMBER", precision: 9, scale: 0 }, 1000],
  [{ kind: "null" }, { dataType: "NUMBER" }, null],
  [str("12.5"), { dataType: "NUMBER", precision: 10, scale: 2 }, "12.50"],
  [str(".5"), { dataType: "NUMBER" }, "0.5"],
  [str("-1.5E+10"), { dataType: "NUMBER" }, "-15000000000"],
  [str("1E-5"), { dataType: "NUMBER" }, "0.00001"],
  [str("-0"), { dataType: "NUMBER" }, "0"],
  [num("-12"), { dataType: "NUMBER", precision: 5, scale: 0 }, -12],
  [str("9223372036854775807"), { dataType: "NUMBER", precision: 18, scale: 0 }, 9223372036854775807n],
  [str("123000"), { dataType: "NUMBER", precision: 5, scale: -3 }, 123000],
  [str("1.5E+000"), { dataType: "BINARY_FLOAT" }, 1.5],
  [str("0.1"), { dataType: "BINARY_FLOAT" }, Math.fround(0.1)],
  [str("Nan"), { dataType: "BINARY_DOUBLE" }, Number.NaN],
  [str("-Inf"), { dataType: "BINARY_DOUBLE" }, Number.NEGATIVE_INFINITY],
  [str("O'Brien é"), { dataType: "VARCHAR2", charLength: 20 }, "O'Brien é"],
  [{ kind: "empty-lob", lob: "clob" }, { dataType: "CLOB" }, ""],
  [{ kind: "empty-lob", lob: "blob" }, { dataType: "BLOB" }, new Uint8Array(0)],
  [call("HEXTORAW", "0aFF"), { dataType: "RAW", length: 2 }, new Uint8Array([10, 255])],
  [call("TO_DATE", "2020-02-01 13:04:05", "YYYY-MM-DD HH24:MI:SS"), { dataType: "DATE" }, "2020-02-01T13:04:05"],
  [call("TO_DATE", "01-FEB-20 01.04.05 PM", "DD-MON-RR HH.MI.SS AM"), { dataType: "DATE" }, "2020-02-01T13:04:05"],
  [call("TO_TIMESTAMP", "2020-02-02 00:00:00."), { dataType: "TIMESTAMP(6)", scale: 6 }, "2020-02-02T00:00:00.000000"],
  [call("TO_TIMESTAMP", "2020-02-02 00:00:00.123456789"), { dataType: "TIMESTAMP(9)", scale: 9 }, "2020-02-02T00:00:00.123456"],
  [call("TO_TIMESTAMP", "0001-01-01 00:00:00.5"), { dataType: "TIMESTAMP(1)", scale: 1 }, "0001-01-01T00:00:00.5"],
  [
    call("TO_TIMESTAMP_TZ", "2020-02-02 00:30:00.123456 +02:00"),
    { dataType: "TIMESTAMP(6) WITH TIME ZONE", scale: 6 },
    "2020-02-01T22:30:00.123456Z",
  ],
  [
    call("TO_TIMESTAMP_TZ", "2020-12-31 23:30:00. -05:30"),
    { dataType: "TIMESTAMP(0) WITH TIME ZONE", scale: 0 },
    "2021-01-01T05:00:00Z",
  ],
  [
    call("TO_TIMESTAMP_TZ", "2020-07-02 00:30:00.5 Europe/Paris", "YYYY-MM-DD HH24:MI:SS.FF TZR"),
    { dataType: "TIMESTAMP(3) WITH TIME ZONE", scale: 3 },
    "2020-07-01T22:30:00.500Z",
  ],
  [call("TO_TIMESTAMP", "2020-02-02 10:00:00.25"), { dataType: "TIMESTAMP(2) WITH LOCAL TIME ZONE", scale: 2 }, "2020-02-02T10:00:00.25Z"],
  [call("TO_YMINTERVAL", "-01-02"), { dataType: "INTERVAL YEAR(2) TO MONTH" }, "P-1Y-2M"],
  [call("TO_YMINTERVAL", "+00-00"), { dataType: "INTERVAL YEAR(2) TO MONTH" }, "PT0S"],
  [call("TO_DSINTERVAL", "+01 02:03:04.500000"), { dataType: "INTERVAL DAY(2) TO SECOND(6)" }, "P1DT2H3M4.5S"],
  [call("TO_DSINTERVAL", "-00 00:00:01.000000"), { dataType: "INTERVAL DAY(2) TO SECOND(6)" }, "PT-1S"],
];

const REJECTS: [OracleRedoLiteral, OracleColumnType, RegExp][] = [
  [str("2147483648"), { dataType: "NUMBER", precision: 9, scale: 0 }, /beyond 32 bits/],
  [str("-"), { dataType: "NUMBER" }, /not a number/],
  [str("+"), { dataType: "NUMBER", precision: 5, scale: 0 }, /not a number/],
  [str("1.5."), { dataType: "NUMBER" }, /not a number/],
  [{ kind: "unsupported" }, { dataType: "XMLTYPE" }, /Unsupported Type/],
  [str("abc"), { dataType: "NUMBER" }, /NUMBER value \(decimal\): not a number/],
  [str("123.456"), { dataType: "NUMBER", precision: 5, scale: 2 }, /more than 2 fraction digits/],
  [str("12345"), { dataType: "NUMBER", precision: 5, scale: 2 }, /more than 3 integer digits/],
  [str("1.5"), { dataType: "NUMBER", precision: 9, scale: 0 }, /a fraction in an integer column/],
  [str("300"), { dataType: "NUMBER", precision: 2, scale: 0 }, /beyond 8 bits/],
  [call("HEXTORAW", "0a0"), { dataType: "RAW" }, /even-length hexadecimal/],
  [{ kind: "empty-lob", lob: "clob" }, { dataType: "BLOB" }, /EMPTY_CLOB\(\) does not fit/],
  [call("TO_DATE", "2020-02-30 00:00:00", "YYYY-MM-DD HH24:MI:SS"), { dataType: "DATE" }, /day 30 out of range/],
  [call("TO_TIMESTAMP_TZ", "2020-02-02 00:00:00. +01:00"), { dataType: "TIMESTAMP(6)" }, /TO_TIMESTAMP_TZ in a column without time zone/],
  [call("TO_DSINTERVAL", "1 day"), { dataType: "INTERVAL DAY(2) TO SECOND(6)" }, /not an Oracle interval text/],
];

describe("decodeOracleLiteral", () => {
  it.each<[OracleRedoLiteral, OracleColumnType, unknown]>(DECODES)("decodes %j as %j", (literal, column, expected) => {
    expect(decodeOracleLiteral(literal, column)).toEqual(expected);
  });

  it.each<[OracleRedoLiteral, OracleColumnType, RegExp]>(REJECTS)("rejects %j for %j with a clear error", (literal, column, message) => {
    let error: unknown;
    try {
      decodeOracleLiteral(literal, column);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ZeroEtlError);
    expect((error as ZeroEtlError).code).toBe("record-rejected");
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(`oracle ${column.dataType}`);
  });
});

/** What a call gives: its value, or its error's code and message. */
function outcome(decode: () => unknown): unknown {
  try {
    return { value: decode() };
  } catch (error) {
    return { code: (error as ZeroEtlError).code, message: (error as Error).message };
  }
}

describe("decodeOracleSlotAs", () => {
  // the source decodes parsed rows from their slots (no literal object for strings, numbers, NULL): the same values and errors
  const cases: [OracleRedoLiteral, OracleColumnType][] = [
    ...DECODES.map(([literal, column]): [OracleRedoLiteral, OracleColumnType] => [literal, column]),
    ...REJECTS.map(([literal, column]): [OracleRedoLiteral, OracleColumnType] => [literal, column]),
    [str("x"), { dataType: "NUMBER", precision: 2, scale: 0 }],
    [num("5"), { dataType: "VARCHAR2" }],
    [str("NaN"), { dataType: "BINARY_DOUBLE" }],
    [num("1.5"), { dataType: "BINARY_FLOAT" }],
  ];
  it.each(cases)("decodes %j for %j as decodeOracleLiteral does", (literal, column) => {
    const slots = new OracleRedoSlots(3);
    slots.set(1, literal);
    const decoded = outcome(() => decodeOracleSlotAs(slots, 1, fromOracleType(column), column.dataType));
    expect(decoded).toEqual(outcome(() => decodeOracleLiteral(literal, column)));
  });
});
