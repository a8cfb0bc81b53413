import { describe, expect, it } from "vitest";
import type { SnapshotChunk } from "@zero-etl/core";
import { createOracleSource } from "../../src/oracle/index.js";
import { oraclePositionCodec } from "../../src/oracle/oracle-position.js";
import { ScriptedOracleDatabase } from "../../../../test-support/oracle/scripted-oracle-database.js";

function eventsDatabase(): ScriptedOracleDatabase {
  const db = new ScriptedOracleDatabase();
  db.addTable({
    owner: "APP",
    name: "EVENTS",
    columns: [
      { name: "ID", dataType: "NUMBER", precision: 18, scale: 0, nullable: false },
      { name: "AT", dataType: "DATE" },
      { name: "SEEN", dataType: "TIMESTAMP(6) WITH TIME ZONE", scale: 6 },
      { name: "TAG", dataType: "RAW", length: 4 },
      { name: "Mixed Case", dataType: "VARCHAR2", length: 20, charLength: 20 },
    ],
    primaryKey: ["ID"],
    numRows: 10,
    // as the driver returns the snapshot select list: TO_CHAR in the session's NLS formats, RAWTOHEX
    rows: Array.from({ length: 10 }, (_, i) => ({
      ROWID: `AAAEV${String(i).padStart(3, "0")}`,
      ID: String(i + 1),
      AT: `2026-12-0${(i % 9) + 1} 10:11:12`,
      SEEN: "2026-12-07 10:11:12.123456000 +02:00",
      TAG: i % 2 === 0 ? "0AFF" : null,
      "Mixed Case": `it's ${i}`,
    })),
  });
  return db;
}

const source = (db: ScriptedOracleDatabase) =>
  createOracleSource({ url: "oracle://app:secret@db.example:1521/ORCL", pipeline: "p", connect: db.connector(), snapshotChunkRows: 4, snapshotParallelism: 2 });

describe("oracle snapshot AS OF SCN in ROWID ranges", () => {
  it("reads every row at one SCN, in parallel ranges yielded in order, and streams from the oldest open transaction", async () => {
    const db = eventsDatabase();
    const openedAt = db.dml("0C000100D0000000", "insert", { owner: "APP", table: "EVENTS", rowId: "X", redo: "insert into \"APP\".\"EVENTS\"(\"ID\") values ('99')" });
    const src = source(db);
    const session = await src.snapshot({});
    const position = oraclePositionCodec.parse(session.position);
    expect(position.committed).toBe(db.scn + 1n);
    expect(position.open).toBe(openedAt);
    const chunks: SnapshotChunk[] = [];
    for await (const chunk of session.chunks) chunks.push(chunk);
    expect(chunks.map((c) => [c.chunk, c.rows.length, c.last, c.rowsRead, c.rowsEstimated])).toEqual([
      [0, 4, false, 4, 10],
      [1, 4, false, 8, 10],
      [2, 2, true, 10, 10],
    ]);
    const rows = chunks.flatMap((c) => c.rows);
    expect(rows.map((r) => r.ID)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    expect(rows[0]).toEqual({ ID: 1n, AT: "2026-12-01T10:11:12", SEEN: "2026-12-07T08:11:12.123456Z", TAG: new Uint8Array([0x0a, 0xff]), "Mixed Case": "it's 0" });
    expect(rows[1]?.TAG).toBeNull();
    const chunkCalls = db.calls.filter((c) => c.sql.includes("ROWID BETWEEN"));
    expect(new Set(chunkCalls.map((c) => c.session)).size).toBe(2);
    expect(chunkCalls[0]?.sql).toBe(
      'SELECT TO_CHAR("ID") AS "ID", TO_CHAR("AT") AS "AT", TO_CHAR("SEEN") AS "SEEN", RAWTOHEX("TAG") AS "TAG", "Mixed Case" AS "Mixed Case" FROM "APP"."EVENTS" AS OF SCN :scn WHERE ROWID BETWEEN CHARTOROWID(:lo) AND CHARTOROWID(:hi)',
    );
    expect(chunkCalls.map((c) => c.binds)).toEqual([
      { scn: position.committed.toString(), lo: "AAAEV000", hi: "AAAEV003" },
      { scn: position.committed.toString(), lo: "AAAEV004", hi: "AAAEV007" },
      { scn: position.committed.toString(), lo: "AAAEV008", hi: "AAAEV009" },
    ]);
    expect(db.calls.find((c) => c.sql.includes("NTILE"))?.sql).toBe(
      'SELECT ROWIDTOCHAR(MIN(RID)) AS LO, ROWIDTOCHAR(MAX(RID)) AS HI FROM (SELECT ROWID AS RID, NTILE(:chunks) OVER (ORDER BY ROWID) AS BUCKET FROM "APP"."EVENTS" AS OF SCN :scn) GROUP BY BUCKET ORDER BY BUCKET',
    );
    await src.close();
  });
});

describe("oracle check [--fix]", () => {
  it("reports archivelog mode, supplemental logging, privileges and retention, and fixes the logging it may", async () => {
    const db = eventsDatabase();
    db.logMode = "NOARCHIVELOG";
    db.minimalLogging = "NO";
    const events = db.tables.get("APP.EVENTS");
    if (events !== undefined) events.allColumnLogging = false;
    db.privileges.delete("FLASHBACK ANY TABLE");
    db.archivedHours = 2;
    const src = source(db);
    const before = await src.preflight({ fix: false });
    expect(before.checks.map((c) => [c.id, c.ok, c.severity ?? "", c.fixable ?? ""])).toEqual([
      ["oracle.archivelog", false, "error", false],
      ["oracle.supplemental_logging", false, "error", true],
      ["oracle.table_logging.APP.EVENTS", false, "error", true],
      ["oracle.privileges", false, "error", false],
      ["oracle.log_retention", false, "warning", ""],
    ]);
    expect(before.checks.find((c) => c.id === "oracle.privileges")?.remedy).toContain("GRANT FLASHBACK ANY TABLE TO <user>");
    expect(db.calls.filter((c) => c.kind === "execute").map((c) => c.sql)).toEqual([]);
    const after = await src.preflight({ fix: true });
    expect(db.calls.filter((c) => c.kind === "execute").map((c) => c.sql)).toEqual([
      "ALTER DATABASE ADD SUPPLEMENTAL LOG DATA",
      'ALTER TABLE "APP"."EVENTS" ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS',
    ]);
    expect(after.checks.map((c) => [c.id, c.ok, c.fixed ?? false])).toEqual([
      ["oracle.archivelog", false, false],
      ["oracle.supplemental_logging", true, true],
      ["oracle.table_logging.APP.EVENTS", true, true],
      ["oracle.privileges", false, false],
      ["oracle.log_retention", false, false],
    ]);
    await src.close();
  });
});

describe("the oracle admin session", () => {
  it("is opened anew after it broke under a query", async () => {
    const db = eventsDatabase();
    const src = source(db);
    db.failures.set("SELECT LOG_MODE", new Error("ORA-03113: end-of-file on communication channel"));
    await expect(src.preflight({ fix: false })).rejects.toMatchObject({ code: "connection-failed", retryable: true, message: "oracle query failed (ORA-03113); a new session is opened on the next call" });
    const report = await src.preflight({ fix: false });
    expect(report.checks.every((c) => c.ok)).toBe(true);
    const sessions = db.calls.filter((c) => c.sql.startsWith("SELECT LOG_MODE")).map((c) => c.session);
    expect(sessions).toHaveLength(2);
    expect(sessions[0]).not.toBe(sessions[1]);
    await src.close();
  });
});
