import type { ChangeBatch, ChangeEvent, Source, Value } from "@zero-etl/core";
import { ScriptedOracleDatabase } from "../../../../test-support/oracle/scripted-oracle-database.js";

export const ORDERS = { owner: "APP", name: "ORDERS" } as const;

/** APP.ORDERS: ID NUMBER(9) key, NAME VARCHAR2(50), AMOUNT NUMBER(10,2), NOTE CLOB. */
export function ordersDatabase(): ScriptedOracleDatabase {
  const db = new ScriptedOracleDatabase();
  db.addTable({
    owner: "APP",
    name: "ORDERS",
    columns: [
      { name: "ID", dataType: "NUMBER", precision: 9, scale: 0, nullable: false },
      { name: "NAME", dataType: "VARCHAR2", length: 50, charLength: 50 },
      { name: "AMOUNT", dataType: "NUMBER", precision: 10, scale: 2 },
      { name: "NOTE", dataType: "CLOB", length: 4000 },
    ],
    primaryKey: ["ID"],
  });
  return db;
}

const q = (v: string | null): string => (v === null ? "NULL" : `'${v.replace(/'/g, "''")}'`);

export const redo = {
  insert: (id: number, name: string, amount: string, note: string | null | "EMPTY_CLOB()" = null): string =>
    `insert into "APP"."ORDERS"("ID","NAME","AMOUNT","NOTE") values ('${id}',${q(name)},'${amount}',${note === "EMPTY_CLOB()" ? note : q(note)})`,
  update: (id: number, set: string, old: { name: string; amount: string }): string =>
    `update "APP"."ORDERS" set ${set} where "ID" = '${id}' and "NAME" = ${q(old.name)} and "AMOUNT" = '${old.amount}'`,
  delete: (id: number, old: { name: string; amount: string }): string => `delete from "APP"."ORDERS" where "ID" = '${id}' and "NAME" = ${q(old.name)} and "AMOUNT" = '${old.amount}'`,
  locator: (id: number, column: string): string =>
    `DECLARE \n loc_c CLOB; \n buf_c VARCHAR2(6426); \nBEGIN\n select "${column}" into loc_c from "APP"."ORDERS" where "ID" = '${id}' for update;`,
  write: (text: string, offset: number): string => ` buf_c := ${q(text)}; \n  dbms_lob.write(loc_c, ${text.length}, ${offset}, buf_c);`,
  trim: (length: number): string => ` dbms_lob.trim(loc_c, ${length});\nEND;`,
};

/** A compact, comparable text of an event (bigints and bytes spelled out). */
export function describeEvent(e: ChangeEvent): string {
  const text = (row: Readonly<Record<string, Value>> | undefined): string =>
    JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `0x${Buffer.from(v).toString("hex")}` : v));
  switch (e.op) {
    case "insert":
      return `insert ${e.table.name} ${text(e.after)}`;
    case "update":
      return `update ${e.table.name} key=${text(e.key)} after=${text(e.after)}${e.unchanged === undefined ? "" : ` unchanged=${e.unchanged.join(",")}`}`;
    case "delete":
      return `delete ${e.table.name} key=${text(e.key)}`;
    default:
      return e.op;
  }
}

/** One streamed batch, reduced to what the tests compare. */
export interface SeenBatch {
  readonly events: string[];
  readonly checkpoint?: string;
  readonly tableChanges: string[];
  readonly rejected: string[];
}

/** Streams from `from` until the source says it caught up; returns the batches. */
export async function streamUntilCaughtUp(source: Source, from: string): Promise<SeenBatch[]> {
  const controller = new AbortController();
  const seen: SeenBatch[] = [];
  for await (const batch of source.stream(from, { signal: controller.signal }) as AsyncIterable<ChangeBatch>) {
    seen.push({
      events: batch.events.map(describeEvent),
      ...(batch.checkpoint === undefined ? {} : { checkpoint: batch.checkpoint }),
      tableChanges: (batch.tableChanges ?? []).map((c) => `${c.kind} ${c.table.namespace}.${c.table.name} @${c.position}`),
      rejected: (batch.rejected ?? []).map((r) => r.reason),
    });
    if (batch.caughtUp === true) break;
  }
  controller.abort();
  return seen;
}
