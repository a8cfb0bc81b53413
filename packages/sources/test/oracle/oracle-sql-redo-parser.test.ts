import { describe, expect, it } from "vitest";
import { OracleRedoParseError, parseSqlRedo } from "../../src/oracle/oracle-sql-redo-parser.js";
import type { OracleRedoStatement } from "../../src/oracle/oracle-redo-statement.js";

function plain(statement: OracleRedoStatement): unknown {
  return JSON.parse(JSON.stringify(statement, (_, v: unknown) => (v instanceof Map ? [...v.entries()] : v)));
}

describe("parseSqlRedo", () => {
  it("reads an insert with every literal form LogMiner prints, in column order", () => {
    const sql =
      `insert into "HR"."Mixed T"("ID","NAME","N","D","TS","TZ","YM","DS","R","C","B","X","Z","E") values ` +
      `('1','O''Brien',-1.5E+10,TO_DATE('2020-02-01 13:04:05', 'YYYY-MM-DD HH24:MI:SS'),TO_TIMESTAMP('2020-02-02 00:00:00.'),` +
      `TO_TIMESTAMP_TZ('2020-02-02 00:30:00.123456 +02:00'),TO_YMINTERVAL('-01-02'),TO_DSINTERVAL('+01 02:03:04.500000'),` +
      `HEXTORAW('0aff'),EMPTY_CLOB(),EMPTY_BLOB(),Unsupported Type,NULL,'a' || UNISTR('\\00e9\\D83D\\DE00\\\\') || 'b');`;
    expect(plain(parseSqlRedo(sql))).toEqual({
      kind: "insert",
      owner: "HR",
      table: "Mixed T",
      values: [
        ["ID", { kind: "string", value: "1" }],
        ["NAME", { kind: "string", value: "O'Brien" }],
        ["N", { kind: "number", text: "-1.5E+10" }],
        ["D", { kind: "call", fn: "TO_DATE", args: ["2020-02-01 13:04:05", "YYYY-MM-DD HH24:MI:SS"] }],
        ["TS", { kind: "call", fn: "TO_TIMESTAMP", args: ["2020-02-02 00:00:00."] }],
        ["TZ", { kind: "call", fn: "TO_TIMESTAMP_TZ", args: ["2020-02-02 00:30:00.123456 +02:00"] }],
        ["YM", { kind: "call", fn: "TO_YMINTERVAL", args: ["-01-02"] }],
        ["DS", { kind: "call", fn: "TO_DSINTERVAL", args: ["+01 02:03:04.500000"] }],
        ["R", { kind: "call", fn: "HEXTORAW", args: ["0aff"] }],
        ["C", { kind: "empty-lob", lob: "clob" }],
        ["B", { kind: "empty-lob", lob: "blob" }],
        ["X", { kind: "unsupported" }],
        ["Z", { kind: "null" }],
        ["E", { kind: "string", value: "aé😀\\b" }],
      ],
    });
  });

  it("reads an update's set and where, IS NULL as null, leaving out ROWID", () => {
    const statement = parseSqlRedo(
      `update "APP"."T" set "A" = 'x', "B" = NULL where "A" = 'y' and "B" IS NULL and "ROWID" = '1' and ROWID = 'AAAR1AAEAAAAAAAAAA';`,
    );
    expect(plain(statement)).toEqual({
      kind: "update",
      owner: "APP",
      table: "T",
      set: [
        ["A", { kind: "string", value: "x" }],
        ["B", { kind: "null" }],
      ],
      // a column really named "ROWID" (quoted) is kept; the pseudo-column is not
      where: [
        ["A", { kind: "string", value: "y" }],
        ["B", { kind: "null" }],
        ["ROWID", { kind: "string", value: "1" }],
      ],
    });
  });

  it("reads deletes with and without a where clause, with a table alias, and unquoted names upper-cased", () => {
    expect(plain(parseSqlRedo(`delete from "APP"."T";`))).toEqual({ kind: "delete", owner: "APP", table: "T", where: [] });
    expect(plain(parseSqlRedo(`DELETE FROM app.t a WHERE a."Col" = 1 AND a.id = '2'`))).toEqual({
      kind: "delete",
      owner: "APP",
      table: "T",
      where: [
        ["Col", { kind: "number", text: "1" }],
        ["ID", { kind: "string", value: "2" }],
      ],
    });
  });

  it("reads call arguments that are concatenations, and lower-case function and column names", () => {
    const parsed = parseSqlRedo(`update "O"."T" set col_a = to_date('2020-' || '01-02', 'YYYY-MM-DD'), "b" = Hextoraw('0a') where ID = 1`);
    expect(parsed).toEqual({
      kind: "update",
      owner: "O",
      table: "T",
      set: new Map([
        ["COL_A", { kind: "call", fn: "TO_DATE", args: ["2020-01-02", "YYYY-MM-DD"] }],
        ["b", { kind: "call", fn: "HEXTORAW", args: ["0a"] }],
      ]),
      where: new Map([["ID", { kind: "number", text: "1" }]]),
    });
  });

  it("keeps quoted text that looks like syntax as text", () => {
    const statement = parseSqlRedo(`insert into "A"."B"("C","D") values (' and "X" = NULL; where ''',')||(');`);
    expect(plain(statement)).toMatchObject({
      values: [
        ["C", { kind: "string", value: ` and "X" = NULL; where '` }],
        ["D", { kind: "string", value: ")||(" }],
      ],
    });
  });

  it.each([
    [`select * from "A"."B"`, 0, "insert, update or delete"],
    [`insert into "A"."B"("C") values ('x'`, 36, "',' or ')' after a value"],
    [`insert into "A"."B"("C","D") values ('x');`, 41, "2 values (one per listed column), got 1"],
    [`update "A"."B" set "C" = 'unterminated`, 25, "a closing quote"],
    [`delete from "A"."B" where "C" = UNISTR('\\00G1');`, 46, "\\XXXX"],
    // Debezium's own test input with a stray quote after the statement
    [`insert into "UNKNOWN"."TABLE" ("COL1") values ('''Debezium'' rulez')'`, 68, "the end of the statement"],
  ])("rejects %s naming the position and an excerpt", (sql, position, expected) => {
    let error: unknown;
    try {
      parseSqlRedo(sql);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OracleRedoParseError);
    const parseError = error as OracleRedoParseError;
    expect(parseError.position).toBe(position);
    expect(parseError.message).toContain(expected);
    expect(parseError.message).toContain(`position ${position}`);
    expect(parseError.code).toBe("source-failed");
  });

  it("rejects LogMiner's unescaped-apostrophe output instead of guessing where the value ends", () => {
    // LogMiner sometimes prints an apostrophe inside a value without doubling it; Debezium has an opt-in
    // relaxed mode that guesses, ours stops with a clear error so the row goes to the dead-letter queue
    expect(() =>
      parseSqlRedo(`update "S"."TAB" set "D" = 'Nello svolgere la sua attivita', del liquido' where "ID" = '1';`),
    ).toThrow(/expected '=' after a column name at position 65 near "liquido' where/);
  });
});
