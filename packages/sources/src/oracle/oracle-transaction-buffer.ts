import { createReadStream } from "node:fs";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** One V$LOGMNR_CONTENTS row of a selected table, continuation rows already joined. */
export interface RedoRecord {
  readonly scn: bigint;
  /** LogMiner OPERATION_CODE. */
  readonly op: number;
  readonly owner: string;
  readonly table: string;
  readonly rowId: string;
  /** SQL_REDO, whole. */
  readonly redo: string;
  /** True for a row that undoes an earlier change of the same transaction (`ROLLBACK = 1`: rollback to a savepoint). */
  readonly undo: boolean;
}

/** A transaction taken out of the buffer at its commit. */
export interface BufferedTransaction {
  readonly xid: string;
  /** SCN of its first buffered change. */
  readonly firstScn: bigint;
  readonly size: number;
  /** Whether some of its changes were undone by `ROLLBACK = 1` rows. */
  readonly hasUndo: boolean;
  /** Its records in redo order, spilled ones read back from disk; may be iterated more than once. */
  records(): AsyncIterable<RedoRecord>;
  /** Removes its spill file. */
  dispose(): Promise<void>;
}

/** Options of {@link TransactionBuffer}. */
export interface TransactionBufferOptions {
  /** Records per transaction kept in memory; beyond them the records go to the transaction's spill file. */
  readonly spillAfter: number;
  /** Parent directory of the spill directory (default the OS temporary directory). */
  readonly dir?: string;
}

interface OpenTransaction {
  readonly xid: string;
  readonly firstScn: bigint;
  memory: RedoRecord[];
  spilled: number;
  file: string | undefined;
  hasUndo: boolean;
}

/**
 * The changes of open transactions by XID, until their commit (taken out in
 * commit order by the reader) or rollback (dropped). A transaction keeps at
 * most `spillAfter` records in memory: every full block is appended to its
 * own file, so memory stays bounded by `spillAfter` times the number of
 * open transactions whatever their size.
 */
export class TransactionBuffer {
  readonly #open = new Map<string, OpenTransaction>();
  readonly #options: TransactionBufferOptions;
  #dir: Promise<string> | undefined;
  #inMemory = 0;
  /** The most records held in memory at once, for tests and metrics. */
  peakInMemory = 0;
  /** Transactions that spilled to disk so far. */
  spilledTransactions = 0;

  constructor(options: TransactionBufferOptions) {
    this.#options = options;
  }

  /** Whether the transaction has buffered changes. */
  has(xid: string): boolean {
    return this.#open.has(xid);
  }

  /** Open transactions with buffered changes. */
  get size(): number {
    return this.#open.size;
  }

  /** The first SCN of the oldest open transaction, or `undefined` when none is open. */
  oldestScn(): bigint | undefined {
    let oldest: bigint | undefined;
    for (const t of this.#open.values()) if (oldest === undefined || t.firstScn < oldest) oldest = t.firstScn;
    return oldest;
  }

  /** Buffers a change of `xid` (opening the transaction on its first one). */
  async add(xid: string, record: RedoRecord): Promise<void> {
    let t = this.#open.get(xid);
    if (t === undefined) {
      t = { xid, firstScn: record.scn, memory: [], spilled: 0, file: undefined, hasUndo: false };
      this.#open.set(xid, t);
    }
    if (record.undo) t.hasUndo = true;
    t.memory.push(record);
    this.#inMemory++;
    if (this.#inMemory > this.peakInMemory) this.peakInMemory = this.#inMemory;
    if (t.memory.length >= this.#options.spillAfter) await this.#spill(t);
  }

  /** Drops a rolled-back transaction. */
  async rollback(xid: string): Promise<void> {
    const t = this.#open.get(xid);
    if (t === undefined) return;
    this.#open.delete(xid);
    this.#inMemory -= t.memory.length;
    if (t.file !== undefined) await rm(t.file, { force: true });
  }

  /** Takes a committed transaction out of the buffer; `undefined` when it changed no selected table. */
  take(xid: string): BufferedTransaction | undefined {
    const t = this.#open.get(xid);
    if (t === undefined) return undefined;
    this.#open.delete(xid);
    this.#inMemory -= t.memory.length;
    const { memory, file } = t;
    return {
      xid,
      firstScn: t.firstScn,
      size: t.spilled + memory.length,
      hasUndo: t.hasUndo,
      async *records() {
        if (file !== undefined) yield* readSpill(file);
        yield* memory;
      },
      dispose: async () => {
        if (file !== undefined) await rm(file, { force: true });
      },
    };
  }

  /** Forgets every open transaction and removes the spill directory. */
  async close(): Promise<void> {
    this.#open.clear();
    this.#inMemory = 0;
    const dir = this.#dir;
    this.#dir = undefined;
    if (dir !== undefined) await rm(await dir, { recursive: true, force: true });
  }

  async #spill(t: OpenTransaction): Promise<void> {
    this.#dir ??= mkdtemp(join(this.#options.dir ?? tmpdir(), "zeroetl-oracle-"));
    if (t.file === undefined) {
      t.file = join(await this.#dir, `${t.xid}.jsonl`);
      this.spilledTransactions++;
    }
    let text = "";
    for (const r of t.memory) text += `${JSON.stringify([r.scn.toString(), r.op, r.owner, r.table, r.rowId, r.redo, r.undo ? 1 : 0])}\n`;
    await appendFile(t.file, text);
    t.spilled += t.memory.length;
    this.#inMemory -= t.memory.length;
    t.memory = [];
  }
}

async function* readSpill(file: string): AsyncGenerator<RedoRecord> {
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line === "") continue;
      const [scn, op, owner, table, rowId, redo, undo] = JSON.parse(line) as [string, number, string, string, string, string, number];
      yield { scn: BigInt(scn), op, owner, table, rowId, redo, undo: undo === 1 };
    }
  } finally {
    lines.close();
  }
}
