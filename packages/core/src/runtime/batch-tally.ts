import type { ChangeOp } from "../change/change-event.js";
import type { PipelineTarget } from "./pipeline-target.js";

interface TableTally {
  /** Rows and estimated bytes per operation, in first-seen order. */
  readonly ops: Map<ChangeOp, { rows: number; bytes: number }>;
  rows: number;
  lastPosition: string | undefined;
}

/**
 * The rows a batch applies, per table and operation, counted into the
 * target (batch policy, run totals, `rows` metric) and the table tracker
 * once per table and operation at the end of the batch instead of once per
 * event: a 5,000-event batch of one table makes one metric event and one
 * tracker update (whose timestamp alone cost a `Date` a row), not 5,000.
 */
export class BatchTally {
  readonly #tables = new Map<string, TableTally>();
  #lastKey: string | undefined;
  #last: TableTally | undefined;

  /** Counts one row event of `table` (a table key) at `position`. */
  add(table: string, op: ChangeOp, bytes: number, position: string): void {
    let tally = this.#lastKey === table ? this.#last : this.#tables.get(table);
    if (tally === undefined) {
      tally = { ops: new Map(), rows: 0, lastPosition: undefined };
      this.#tables.set(table, tally);
    }
    this.#lastKey = table;
    this.#last = tally;
    const counted = tally.ops.get(op);
    if (counted === undefined) tally.ops.set(op, { rows: 1, bytes });
    else {
      counted.rows += 1;
      counted.bytes += bytes;
    }
    tally.rows += 1;
    if (position !== "") tally.lastPosition = position;
  }

  /** Hands the counts to `target` and its tracker, and starts over. */
  flushTo(target: PipelineTarget): void {
    for (const [table, tally] of this.#tables) {
      for (const [op, counted] of tally.ops) target.count(table, counted.rows, counted.bytes, op);
      target.tracker.addRows(table, tally.rows, tally.lastPosition);
    }
    this.#tables.clear();
    this.#lastKey = undefined;
    this.#last = undefined;
  }
}
