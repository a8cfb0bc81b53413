/**
 * `parseSqlRedoRow` (the source's hot path: names resolved in place against
 * the table, literals by column position, a per-table cache of the last
 * insert header) against `parseSqlRedo` (maps by name), which the
 * differential test holds to Debezium's parser: on the same generated
 * statements both must give the same literals for every column and fail at
 * the same position with the same message.
 */
import { describe, expect, it } from "vitest";
import type { OracleRedoLiteral, OracleRedoRow, OracleRedoStatement } from "../../src/oracle/oracle-redo-statement.js";
import { scanRedoRow } from "../../src/oracle/oracle-redo-row-scanner.js";
import { OracleRedoTable } from "../../src/oracle/oracle-redo-table.js";
import { OracleRedoParseError, parseSqlRedo, parseSqlRedoRow } from "../../src/oracle/oracle-sql-redo-parser.js";
import { generateStatements } from "../../../../test-support/oracle-debezium/oracle-redo-generator.js";

/** The map result laid out by column position, as the row result must be. */
function byPosition(columns: ReadonlyMap<string, OracleRedoLiteral>, names: readonly string[]): (OracleRedoLiteral | undefined)[] {
  for (const name of columns.keys()) if (!names.includes(name)) throw new Error(`generated column ${name} is not in the table`);
  return names.map((n) => columns.get(n));
}

function expectSameAsMaps(row: OracleRedoRow, statement: OracleRedoStatement, names: readonly string[], sql: string): void {
  expect(row.kind, sql).toBe(statement.kind);
  expect(row.unknownColumn, sql).toBeUndefined();
  const values = statement.kind === "insert" ? statement.values : statement.kind === "update" ? statement.set : undefined;
  const where = statement.kind === "insert" ? undefined : statement.where;
  expect(row.values.toLiterals(), sql).toEqual(byPosition(values ?? new Map(), names));
  expect(row.where.toLiterals(), sql).toEqual(byPosition(where ?? new Map(), names));
}

function failure(parse: () => unknown): { position: number; message: string } | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(OracleRedoParseError);
    const e = error as OracleRedoParseError;
    return { position: e.position, message: e.message };
  }
}

describe("parseSqlRedoRow", () => {
  it.each([23, 2301, 230_017])("gives parseSqlRedo's literals by column position on %i-seeded random statements, cached headers included", (seed) => {
    const statements = generateStatements(seed, 2000);
    const tables = new Map<unknown, OracleRedoTable>();
    const fastTables = new Map<unknown, OracleRedoTable>();
    let inserts = 0;
    let fast = 0;
    for (const { table, sql } of statements) {
      let redo = tables.get(table);
      if (redo === undefined) {
        redo = new OracleRedoTable(table.columns.map((c) => c.name));
        tables.set(table, redo);
      }
      const names = redo.names;
      // the generator prints as LogMiner does: the fast path must read (nearly) all of it, else this test would not cover it
      let fastTable = fastTables.get(table);
      if (fastTable === undefined) {
        fastTable = new OracleRedoTable(names);
        fastTables.set(table, fastTable);
      }
      if (scanRedoRow(sql, fastTable)) fast++;
      const statement = parseSqlRedo(sql);
      expectSameAsMaps(parseSqlRedoRow(sql, redo), statement, names, sql);
      if (statement.kind === "insert") {
        // the same header again: read from the table's cache this time
        expect(redo.insertHeader).not.toBe("");
        expect(sql.startsWith(redo.insertHeader)).toBe(true);
        expectSameAsMaps(parseSqlRedoRow(sql, redo), statement, names, sql);
        inserts++;
      }
    }
    expect(inserts).toBeGreaterThan(500);
    expect(fast).toBeGreaterThan(statements.length * 0.99);
  });

  // Each form the fast path reads, and forms it leaves to the full scanner: either way the literals must be parseSqlRedo's.
  it.each<[string, boolean]>([
    [`insert into "A"."T"("ID","NAME") values ('it''s','''''');`, true],
    [`insert into "A"."T"("ID","NAME") values ('a'' || ''b','x''');`, true],
    [`insert into "A"."T"("ID","NAME") values (-1.5E+10,.5);`, true],
    [`insert into "A"."T"("ID","NAME","NOTE") values (TO_DATE('2020-01-02 03:04:05', 'YYYY-MM-DD HH24:MI:SS'),TO_TIMESTAMP('2020-01-02 03:04:05.123'),TO_TIMESTAMP_TZ('2020-01-02 03:04:05.1 +01:00'));`, true],
    [`insert into "A"."T"("ID","NAME","NOTE") values (HEXTORAW('0a0B'),EMPTY_CLOB(),EMPTY_BLOB());`, true],
    [`insert into "A"."T"("ID","NAME","NOTE") values (TO_DSINTERVAL('+01 02:03:04.5'),TO_YMINTERVAL('-01-02'),Unsupported Type);`, true],
    [`insert into "A"."T"("ID","NAME") values (UNISTR('\\00e9\\\\x'),'a' || UNISTR('\\20AC') || NULL || 'b');`, true],
    [`insert into "A"."T"("ID","NAME") values (NULL || 'x',NULL);`, true],
    [`insert into "A"."T"("ID","NAME") values (TO_DATE('a''b', 'c'),TO_DATE('x','y','z'));`, true],
    [`update "A"."T" set "NAME" = 'n', "NOTE" = NULL where "ID" = '1' and "NAME" IS NULL and ROWID = 'AAAR1AAEAAAAAAAAAA';`, true],
    [`update "A"."T" set "NAME" = 'n' WHERE "ID" = 1 AND "NOTE" is null`, true],
    [`delete from "A"."T" where "NOTE" IS NULL and "ID" = TO_DATE('2020-01-02', 'YYYY-MM-DD');`, true],
    [`delete from "A"."T" where "ID" = 'x' and "NAME" = UNISTR('\\0041') || 'b';`, true],
    [`update "A"."T" set "NOTE" = 'c', "ID" = 'a', "NOTE" = 'd' where "NAME" = 'b' and "ID" = 1;`, true],
    [`insert into "A"."T"("NOTE","NAME","ID") values ('c','b','a');`, true],
    // left to the full scanner
    [`insert into "A"."T" ("ID") values ('1');`, false],
    [`insert into "A"."T"("ID","NAME") values ('1' , '2');`, false],
    [`update "A"."T" set "NAME" = TO_NUMBER('5') where "ID" = 1;`, false],
    [`update "A"."T" set "NAME" = 'a'  ||  'b' where "ID" = 1;`, false],
    [`update "A"."T" set "NAME" = 'a' where "ID" = 1 ;`, false],
    [`delete from "A"."T" where "ID" = /* JSON */ '1';`, false],
    [`delete from "A"."T" where id = 1;`, false],
    [`delete from "A"."T";`, false],
    [`DELETE FROM "A"."T" WHERE "ID" = 1;`, false],
  ])("reads %s like parseSqlRedo (fast path: %s)", (sql, fastForm) => {
    const table = new OracleRedoTable(["ID", "NAME", "NOTE"]);
    expect(scanRedoRow(sql, new OracleRedoTable(table.names))).toBe(fastForm);
    const statement = parseSqlRedo(sql);
    // twice: the second time with the headers the first one kept
    expectSameAsMaps(parseSqlRedoRow(sql, table), statement, table.names, sql);
    expectSameAsMaps(parseSqlRedoRow(sql, table), statement, table.names, sql);
  });

  it("reads a cached insert header only for the same text, with each statement's own values", () => {
    const table = new OracleRedoTable(["ID", "NAME", "NOTE"]);
    // the row is the table's, refilled by each statement: each one is read before the next
    const first = parseSqlRedoRow(`insert into "A"."T"("ID","NAME") values ('1','a');`, table).values.toLiterals();
    const second = parseSqlRedoRow(`insert into "A"."T"("ID","NAME") values ('2',NULL);`, table).values.toLiterals();
    const other = parseSqlRedoRow(`insert into "A"."T"("NAME","NOTE") values ('b','c');`, table).values.toLiterals();
    expect(first).toEqual([{ kind: "string", value: "1" }, { kind: "string", value: "a" }, undefined]);
    expect(second).toEqual([{ kind: "string", value: "2" }, { kind: "null" }, undefined]);
    expect(other).toEqual([undefined, { kind: "string", value: "b" }, { kind: "string", value: "c" }]);
    // a cached header with too few values fails where parseSqlRedo fails
    const short = `insert into "A"."T"("NAME","NOTE") values ('b');`;
    expect(failure(() => parseSqlRedoRow(short, table))).toEqual(failure(() => parseSqlRedo(short)));
    expect(failure(() => parseSqlRedoRow(short, table))?.message).toContain("2 values (one per listed column), got 1");
  });

  it("reads cached update and delete headers only when the keyword ends there", () => {
    const table = new OracleRedoTable(["ID", "NAME"]);
    parseSqlRedoRow(`update "A"."T" set "NAME" = 'a' where "ID" = 1`, table);
    parseSqlRedoRow(`delete from "A"."T" where "ID" = 1`, table);
    expect(table.updateHeader).toBe(`update "A"."T" set`);
    expect(table.deleteHeader).toBe(`delete from "A"."T" where`);
    const update = parseSqlRedoRow(`update "A"."T" set "NAME" = NULL where "ID" = 2`, table);
    expect(update.values.toLiterals()).toEqual([undefined, { kind: "null" }]);
    expect(update.where.toLiterals()).toEqual([{ kind: "number", text: "2" }, undefined]);
    const remove = parseSqlRedoRow(`delete from "A"."T" where "NAME" IS NULL`, table);
    expect(remove.where.toLiterals()).toEqual([undefined, { kind: "null" }]);
    // the cached text followed by more of a word is not that header
    for (const sql of [`delete from "A"."T" wherever where "ID" = 1`, `update "A"."T" settle set "ID" = 1`, `delete from "A"."T" where_x = 1`]) {
      expect(failure(() => parseSqlRedoRow(sql, table)), sql).toEqual(failure(() => parseSqlRedo(sql)));
    }
    const aliased = parseSqlRedoRow(`delete from "A"."T" wherever where wherever."ID" = 3`, table);
    expect(aliased.where.toLiterals()).toEqual([{ kind: "number", text: "3" }, undefined]);
  });

  it("drops skipped columns, names the first unknown one, and does not cache a header naming it", () => {
    const table = new OracleRedoTable(["ID", "NAME"], new Set(["GEOM"]));
    const sql = `insert into "A"."T"("ID","GEOM","X","Y") values (1,NULL,'x','y');`;
    for (let i = 0; i < 2; i++) {
      const row = parseSqlRedoRow(sql, table);
      expect(row.unknownColumn).toBe("X");
      expect(row.values.toLiterals()).toEqual([{ kind: "number", text: "1" }, undefined]);
    }
    expect(table.insertHeader).toBe("");
    const update = parseSqlRedoRow(`update "A"."T" set "GEOM" = NULL, "NAME" = 'n' where "ID" = 1 and "Z" IS NULL`, table);
    expect(update.unknownColumn).toBe("Z");
    expect(update.values.toLiterals()).toEqual([undefined, { kind: "string", value: "n" }]);
    expect(update.where.toLiterals()).toEqual([{ kind: "number", text: "1" }, undefined]);
  });

  it("resolves unquoted and aliased names, leaves out the ROWID pseudo-column but not a column named ROWID", () => {
    const table = new OracleRedoTable(["ID", "NAME", "ROWID"]);
    const row = parseSqlRedoRow(`update app.t a set a.name = 'x' where a.Id = 1 and "ROWID" = 'r' and rowid = 'AAAR1AAEAAAAAAAAAA'`, table);
    expect(row.unknownColumn).toBeUndefined();
    expect(row.values.toLiterals()).toEqual([undefined, { kind: "string", value: "x" }, undefined]);
    expect(row.where.toLiterals()).toEqual([{ kind: "number", text: "1" }, undefined, { kind: "string", value: "r" }]);
    // a lower-case quoted name is another column
    expect(parseSqlRedoRow(`delete from "A"."T" where "id" = 1`, table).unknownColumn).toBe("id");
  });

  it("finds columns out of table order, in a wide table too", () => {
    const names = Array.from({ length: 40 }, (_, i) => `C${i}`);
    const table = new OracleRedoTable(names);
    const row = parseSqlRedoRow(`update "A"."W" set "C39" = '39', "C0" = '0', "C17" = '17' where "C5" = '5' and "C4" = '4'`, table);
    expect(row.unknownColumn).toBeUndefined();
    expect(row.values.literal(39)).toEqual({ kind: "string", value: "39" });
    expect(row.values.literal(0)).toEqual({ kind: "string", value: "0" });
    expect(row.values.literal(17)).toEqual({ kind: "string", value: "17" });
    expect(row.where.literal(5)).toEqual({ kind: "string", value: "5" });
    expect(row.where.literal(4)).toEqual({ kind: "string", value: "4" });
    expect(row.values.toLiterals().filter((v) => v !== undefined)).toHaveLength(3);
    expect(parseSqlRedoRow(`delete from "A"."W" where "C40" = 1`, table).unknownColumn).toBe("C40");
  });

  it.each([
    `select * from "A"."B"`,
    `insert into "A"."B"("C") values ('x'`,
    `insert into "A"."B"("C","D") values ('x');`,
    `insert into "A"."B"("C") values ('x','y');`,
    `update "A"."B" set "C" = 'unterminated`,
    `delete from "A"."B" where "C" = UNISTR('\\00G1');`,
    `insert into "UNKNOWN"."TABLE" ("COL1") values ('''Debezium'' rulez')'`,
    `update "S"."TAB" set "D" = 'Nello svolgere la sua attivita', del liquido' where "ID" = '1';`,
    `update "A"."B" set "C" = TO_DATE('2020-01-01', 'YYYY-MM-DD' where "C" = 1`,
    `update "A"."B" set "C" = EMPTY_CLOB( where "C" = 1`,
    `delete from "A"."B" where "C" = /* JSON`,
    `insert into "A"."B"("C") values ('x' || 5);`,
    `insert into "A"."B"("C") values ('x' |);`,
    `insert into "A"."B"("C") values (UNISTR('\\00G1') || 'x');`,
    `insert into "A"."B"("C") values (TO_DATE('x', 'y');`,
    `insert into "A"."B"("C") values (EMPTY_CLOB();`,
    `insert into "A"."B"("C") values (Unsupported);`,
    `insert into "A"."B"("C") values (1.2.3);`,
    `insert into "A"."B"("C") values (1E);`,
    `update "A"."B" set "C" = 'x' where "C" IS 'y';`,
    `update "A"."B" set "C" = 'x' where ROWID IS NOT NULL;`,
    `delete from "A"."B" where "C" = 'x' and;`,
    `delete from "A"."B" where "C" = 'it''s;`,
  ])("fails where parseSqlRedo fails: %s", (sql) => {
    const table = new OracleRedoTable(["C", "D", "COL1", "ID"]);
    const expected = failure(() => parseSqlRedo(sql));
    expect(expected).toBeDefined();
    expect(failure(() => parseSqlRedoRow(sql, table))).toEqual(expected);
  });
});
