import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, createMemoryDeadLetterQueue, runPipeline } from "@zero-etl/core";
import { createPostgresSink } from "../../../sinks/src/postgres/index.js";
import { createOracleSource } from "../../src/oracle/index.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { ordersDatabase } from "./oracle-script.js";

// A snapshot row with a value the decoder cannot read (text where a NUMBER
// belongs) goes to the dead-letter queue with the column and the reason; the
// snapshot and the rest of its rows go on. The scripted source through the
// runtime into the live PostgreSQL warehouse, read back with plain SQL.
describe("oracle snapshot: an undecodable value", () => {
  let target: TestDatabase;
  beforeAll(async () => {
    target = await createTestDatabase("oracle_snap_dlq");
  });
  afterAll(async () => {
    await target?.drop();
  });

  it("dead-letters the row and lands the others", async () => {
    const db = ordersDatabase();
    const orders = db.tables.get("APP.ORDERS");
    if (orders === undefined) throw new Error("no table");
    orders.numRows = 3;
    orders.rows = [
      { ROWID: "AAAR1", ID: "1", NAME: "one", AMOUNT: "10.5", NOTE: null },
      { ROWID: "AAAR2", ID: "2", NAME: "two", AMOUNT: "twenty", NOTE: "secret note" },
      { ROWID: "AAAR3", ID: "3", NAME: "three", AMOUNT: "30", NOTE: null },
    ];
    const deadLetters = createMemoryDeadLetterQueue();
    const source = createOracleSource({ url: "oracle://app:secret@db.example:1521/ORCL", pipeline: "snapdlq", connect: db.connector(), pollMs: 5, windowScns: 7 });
    const sink = createPostgresSink({ url: target.url });
    try {
      const result = await runPipeline({ name: "snapdlq", source, sink, checkpoints: createMemoryCheckpointStore(), deadLetters, untilCaughtUp: true, batch: { maxWaitMs: 50, lingerMs: 10 } });
      expect(result.snapshotted).toBe(true);
    } finally {
      await source.close();
      await sink.close();
    }
    const rows = (await target.query<{ ID: string; NAME: string }>('SELECT "ID"::text AS "ID", "NAME" FROM public."ORDERS" ORDER BY "ID"')).rows;
    expect(rows).toEqual([
      { ID: "1", NAME: "one" },
      { ID: "3", NAME: "three" },
    ]);
    expect(deadLetters.letters).toHaveLength(1);
    const letter = deadLetters.letters[0];
    expect(letter?.table).toBe("APP.ORDERS");
    expect(letter?.reason).toMatch(/^column AMOUNT \(NUMBER\): /);
    expect(letter?.key).toEqual({ ID: "2" });
    // the reason names the column, never a value
    expect(JSON.stringify(letter)).not.toContain("twenty");
    expect(JSON.stringify(letter)).not.toContain("secret note");
  });
});
