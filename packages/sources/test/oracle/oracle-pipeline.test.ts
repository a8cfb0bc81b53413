import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, createMemoryDeadLetterQueue, runPipeline } from "@zero-etl/core";
import { createPostgresSink } from "../../../sinks/src/postgres/index.js";
import { createOracleSource } from "../../src/oracle/index.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { ordersDatabase, redo } from "./oracle-script.js";

const O = { owner: "APP", table: "ORDERS" };

// The scripted Oracle source through the runtime into the live PostgreSQL
// warehouse: snapshot, then streamed transactions (with a rollback, a partial
// rollback, a LOB write and a DDL that makes the runtime re-read the table),
// across restarts of the pipeline from its saved checkpoint. The target is
// read back with plain SQL.
describe("oracle (scripted LogMiner) -> runPipeline -> PostgreSQL warehouse", () => {
  let target: TestDatabase;
  beforeAll(async () => {
    target = await createTestDatabase("oracle_pipe");
  });
  afterAll(async () => {
    await target?.drop();
  });

  it("lands the snapshot and every committed change, once, across restarts", async () => {
    const db = ordersDatabase();
    const orders = db.tables.get("APP.ORDERS");
    if (orders === undefined) throw new Error("no table");
    orders.numRows = 3;
    orders.rows = [
      { ROWID: "AAAR1", ID: "1", NAME: "one", AMOUNT: "10.5", NOTE: null },
      { ROWID: "AAAR2", ID: "2", NAME: "two", AMOUNT: "20", NOTE: "a note" },
      { ROWID: "AAAR3", ID: "3", NAME: "three", AMOUNT: "30", NOTE: null },
    ];
    const checkpoints = createMemoryCheckpointStore();
    const deadLetters = createMemoryDeadLetterQueue();
    const run = async () => {
      const source = createOracleSource({ url: "oracle://app:secret@db.example:1521/ORCL", pipeline: "orapipe", connect: db.connector(), pollMs: 5, windowScns: 7, spillAfterEvents: 4 });
      const sink = createPostgresSink({ url: target.url });
      try {
        return await runPipeline({ name: "orapipe", source, sink, checkpoints, deadLetters, untilCaughtUp: true, autoResync: true, batch: { maxWaitMs: 50, lingerMs: 10 } });
      } finally {
        await source.close();
        await sink.close();
      }
    };
    const rows = async () =>
      (await target.query<Record<string, unknown>>('SELECT * FROM public."ORDERS" ORDER BY "ID"')).rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));

    const first = await run();
    expect(first.snapshotted).toBe(true);
    expect(await rows()).toEqual([
      { ID: "1", NAME: "one", AMOUNT: "10.50", NOTE: null },
      { ID: "2", NAME: "two", AMOUNT: "20.00", NOTE: "a note" },
      { ID: "3", NAME: "three", AMOUNT: "30.00", NOTE: null },
    ]);

    db.dml("0A0001", "insert", { ...O, rowId: "AAAR4", redo: redo.insert(4, "four", "40") });
    db.dml("0A0002", "update", { ...O, rowId: "AAAR2", redo: redo.update(2, `"NAME" = 'two, updated'`, { name: "two", amount: "20" }) });
    db.commit("0A0002");
    db.dml("0A0003", "delete", { ...O, rowId: "AAAR3", redo: redo.delete(3, { name: "three", amount: "30" }) });
    db.dml("0A0003", "delete", { ...O, rowId: "AAAR3", redo: redo.insert(3, "three", "30"), rollback: true });
    db.rollback("0A0003");
    db.dml("0A0004", "insert", { ...O, rowId: "AAAR5", redo: redo.insert(5, "five", "5") });
    db.dml("0A0004", "insert", { ...O, rowId: "AAAR6", redo: redo.insert(6, "six", "6") });
    db.dml("0A0004", "delete", { ...O, rowId: "AAAR6", redo: redo.delete(6, { name: "six", amount: "6" }), rollback: true });
    db.switchLog();
    for (let i = 100; i < 110; i++) db.dml("0A0004", "insert", { ...O, rowId: `AAAH${i}`, redo: redo.insert(i, `bulk ${i}`, "1") });
    db.commit("0A0004");
    db.lob("0A0005", "locator", { ...O, rowId: "AAAR1", redo: redo.locator(1, "NOTE") });
    db.lob("0A0005", "write", { ...O, rowId: "AAAR1", redo: redo.write("written by a LOB write", 1) });
    db.commit("0A0005");
    // the insert of 4 commits last: it is the oldest open transaction through all of the above
    db.commit("0A0001");
    const second = await run();
    expect(second.snapshotted).toBe(false);
    const bulk = Array.from({ length: 10 }, (_, k) => ({ ID: String(100 + k), NAME: `bulk ${100 + k}`, AMOUNT: "1.00", NOTE: null }));
    expect(await rows()).toEqual([
      { ID: "1", NAME: "one", AMOUNT: "10.50", NOTE: "written by a LOB write" },
      { ID: "2", NAME: "two, updated", AMOUNT: "20.00", NOTE: "a note" },
      { ID: "3", NAME: "three", AMOUNT: "30.00", NOTE: null },
      { ID: "4", NAME: "four", AMOUNT: "40.00", NOTE: null },
      { ID: "5", NAME: "five", AMOUNT: "5.00", NOTE: null },
      ...bulk,
    ]);

    // a DDL: the runtime re-reads the table (the scripted table's rows are what Oracle holds then) and streams on
    db.ddl("0A0006", { ...O, redo: `ALTER TABLE "APP"."ORDERS" ADD ("CODE" VARCHAR2(10))` }, () => {
      orders.columns.push({ name: "CODE", dataType: "VARCHAR2", length: 10, charLength: 10 });
      orders.rows = [
        { ROWID: "AAAR1", ID: "1", NAME: "one", AMOUNT: "10.5", NOTE: "written by a LOB write", CODE: null },
        { ROWID: "AAAR2", ID: "2", NAME: "two, updated", AMOUNT: "20", NOTE: "a note", CODE: null },
      ];
    });
    db.dml("0A0007", "insert", { ...O, rowId: "AAAR9", redo: `insert into "APP"."ORDERS"("ID","NAME","AMOUNT","NOTE","CODE") values ('9','nine','9',NULL,'c9')` });
    db.commit("0A0007");
    await run();
    expect(await rows()).toEqual([
      { ID: "1", NAME: "one", AMOUNT: "10.50", NOTE: "written by a LOB write", CODE: null },
      { ID: "2", NAME: "two, updated", AMOUNT: "20.00", NOTE: "a note", CODE: null },
      { ID: "9", NAME: "nine", AMOUNT: "9.00", NOTE: null, CODE: "c9" },
    ]);
    expect(deadLetters.letters).toEqual([]);
  });
});
