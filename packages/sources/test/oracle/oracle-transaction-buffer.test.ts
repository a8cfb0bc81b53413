import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeBatch } from "@zero-etl/core";
import { introspectOracleTable } from "../../src/oracle/oracle-introspector.js";
import { OracleLogMinerReader, ensureFlushTable } from "../../src/oracle/oracle-logminer-reader.js";
import { TransactionBuffer, type RedoRecord } from "../../src/oracle/oracle-transaction-buffer.js";
import { ordersDatabase, redo } from "./oracle-script.js";

describe("oracle transaction buffer", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "oracle-buffer-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const record = (i: number, undo = false): RedoRecord => ({ scn: BigInt(5000 + i), op: 1, owner: "APP", table: "T", rowId: `R${i}`, redo: `row ${i} with 'quotes' and\nnewline`, undo });

  it("keeps at most spillAfter records of a transaction in memory and gives them all back in order", async () => {
    const buffer = new TransactionBuffer({ spillAfter: 100, dir });
    for (let i = 0; i < 10_000; i++) await buffer.add("AA", record(i));
    await buffer.add("BB", record(-1));
    expect(buffer.peakInMemory).toBeLessThanOrEqual(101);
    expect(buffer.spilledTransactions).toBe(1);
    expect(buffer.oldestScn()).toBe(4999n);
    const tx = buffer.take("AA");
    expect(tx?.size).toBe(10_000);
    let n = 0;
    for await (const r of tx?.records() ?? []) {
      expect(r).toEqual(record(n));
      n++;
    }
    expect(n).toBe(10_000);
    await tx?.dispose();
    await buffer.rollback("BB");
    expect(buffer.size).toBe(0);
    await buffer.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it("a huge transaction streams through the LogMiner reader with bounded memory, in batches", async () => {
    const db = ordersDatabase();
    for (let i = 0; i < 3_000; i++) db.dml("0B000100C0000000", "insert", { owner: "APP", table: "ORDERS", rowId: `AAAH${i}`, redo: redo.insert(i, `row ${i}`, "1") });
    db.commit("0B000100C0000000");
    const session = await db.connector()();
    await ensureFlushTable(session, "ZEROETL_LOG_FLUSH");
    const model = await introspectOracleTable(session, { namespace: "APP", name: "ORDERS" });
    if (model === undefined) throw new Error("no model");
    const buffer = new TransactionBuffer({ spillAfter: 50, dir });
    const controller = new AbortController();
    const reader = new OracleLogMinerReader({
      db: session,
      selection: { owner: "APP" },
      tables: new Map([["APP.ORDERS", model]]),
      start: { committed: 1000n },
      windowScns: 1_000_000n,
      pollMs: 1,
      maxBatchEvents: 500,
      flushTable: "ZEROETL_LOG_FLUSH",
      buffer,
      signal: controller.signal,
    });
    const batches: ChangeBatch[] = [];
    for await (const batch of reader.read()) {
      batches.push(batch);
      if (batch.caughtUp === true) break;
    }
    controller.abort();
    expect(batches.reduce((n, b) => n + b.events.length, 0)).toBe(3_000);
    expect(Math.max(...batches.map((b) => b.events.length))).toBe(500);
    expect(buffer.spilledTransactions).toBe(1);
    expect(buffer.peakInMemory).toBeLessThanOrEqual(50);
    // only the batch that completes the transaction carries a checkpoint
    expect(batches.filter((b) => b.checkpoint !== undefined).length).toBe(1);
    await buffer.close();
  });
});
