import type pg from "pg";

/** A stand-in for the application: keeps writing to the database it is pointed at until stopped. */
export interface AppWriter {
  /** Writes done so far. */
  readonly writes: () => number;
  /** Stops after the write in flight; resolves when it is done. */
  stop(): Promise<void>;
}

/** Inserts transfers and updates account balances in small transactions, one after another, from `firstId` on. */
export function startAppWriter(db: pg.Client, accounts: number, firstId: number): AppWriter {
  let stopped = false;
  let writes = 0;
  let id = firstId;
  const loop = (async () => {
    while (!stopped) {
      const from = 1 + (id % accounts);
      const to = 1 + ((id * 7) % accounts);
      const amount = ((id % 50) + 1).toFixed(2);
      await db.query("BEGIN");
      await db.query(`INSERT INTO transfers (id, from_account, to_account, amount, at) VALUES ($1, $2, $3, $4, now())`, [id, from, to, amount]);
      await db.query(`UPDATE accounts SET balance = balance - $2 WHERE id = $1`, [from, amount]);
      await db.query(`UPDATE accounts SET balance = balance + $2 WHERE id = $1`, [to, amount]);
      await db.query("COMMIT");
      id += 1;
      writes += 1;
      // a steady trickle, not a flood: about 100 transactions a second
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    writes: () => writes,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
