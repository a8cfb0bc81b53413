import type { Logger } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import { Producer, stringSerializers } from "@platformatic/kafka";
import type { SnapshotRangeReader } from "../postgres/postgres-snapshot-range-reader.js";
import type { SnapshotWorkDone, SnapshotWorkItem } from "./kafka-snapshot-work.js";

/** A work item read to its end (or stale), waiting for its rows to be acknowledged. */
export interface FinishedWorkItem {
  readonly partition: string;
  readonly offset: bigint;
  readonly item: SnapshotWorkItem;
  readonly rows: number;
  readonly status: SnapshotWorkDone["status"];
  readonly reader: SnapshotRangeReader | undefined;
}

/** Options of {@link SnapshotCompletions}. */
export interface SnapshotCompletionsOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
  /** Names this worker in completion records and logs. */
  readonly worker: string;
  readonly logger: Logger;
}

/**
 * The work items this worker read, until the runtime says their rows are
 * durable in the target: then each gets its completion record, and only
 * after that is its range reader closed (the capture run waits for those
 * sessions to end before it streams; see `openSnapshotRange`).
 */
export class SnapshotCompletions {
  readonly #o: SnapshotCompletionsOptions;
  #finished: FinishedWorkItem[] = [];
  #producer: Producer<string, string, string, string> | undefined;

  constructor(options: SnapshotCompletionsOptions) {
    this.#o = options;
  }

  /** An item whose rows were all handed to the runtime (or that was stale); completed once the work offset after it is acknowledged. */
  finished(entry: FinishedWorkItem): void {
    this.#finished.push(entry);
  }

  /**
   * Publishes the completion of every finished item below the acknowledged
   * next offset of its work partition, then closes their readers. A failed
   * publish leaves them for the next acknowledgement.
   */
  async acknowledged(next: ReadonlyMap<string, bigint>): Promise<void> {
    const due: FinishedWorkItem[] = [];
    const kept: FinishedWorkItem[] = [];
    for (const f of this.#finished) {
      const upTo = next.get(f.partition);
      (upTo !== undefined && f.offset < upTo ? due : kept).push(f);
    }
    if (due.length === 0) return;
    this.#producer ??= new Producer<string, string, string, string>({
      clientId: this.#o.clientId,
      bootstrapBrokers: [...this.#o.brokers],
      idempotent: true,
      serializers: stringSerializers,
    });
    try {
      await this.#producer.send({
        messages: due.map((f) => {
          const done: SnapshotWorkDone = { batch: f.item.batch, item: f.item.item, status: f.status, rows: f.rows, worker: this.#o.worker };
          return { topic: this.#o.topic, partition: 0, key: f.item.batch, value: JSON.stringify(done) };
        }),
      });
    } catch (error) {
      this.#o.logger.warn("kafka: publishing snapshot chunk completions failed; retried with the next acknowledgement", { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    this.#finished = kept;
    for (const f of due) {
      await f.reader?.close();
      if (f.status === "done") this.#o.logger.info("kafka: snapshot chunk applied", { table: tableKey(f.item.schema.table), batch: f.item.batch, item: f.item.item, rows: f.rows, worker: this.#o.worker });
    }
  }

  /** Closes the readers of items not completed (their rows are replayed by whoever owns the partition next) and the producer. */
  async close(): Promise<void> {
    const left = this.#finished;
    this.#finished = [];
    for (const f of left) await f.reader?.close();
    await this.#producer?.close().catch(() => undefined);
    this.#producer = undefined;
  }
}
