import { ZeroEtlError } from "@zero-etl/core";

interface PendingMarker {
  readonly content: string;
  /** The gate's counter when the marker was emitted: a poll round that began at or after it may place it. */
  readonly ticket: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Where the DynamoDB source's markers (incremental-snapshot watermarks) go
 * between `emitMarker` and the stream reader. DynamoDB has no way to write
 * into a table's stream without writing an item of the user's table, so a
 * marker is not written to the source: the stream reader of this process
 * **places** it in its output, at the end of the first poll round that
 * began after the marker was emitted and found every readable shard drained
 * (each GetRecords call of the round returned less than its limit, and no
 * shard ended in it).
 *
 * `emit` resolves once the marker is placed, so
 * - every record the reader delivers before a marker was fetched before
 *   `emit` resolved (strictly: it is in the reader's output before the
 *   placement), hence committed before anything the caller reads after
 *   `emit` resolves: nothing written after a chunk's read starts can come
 *   before the chunk's low watermark;
 * - every record committed before `emit` was called and visible in the
 *   stream when the round polled its shard is delivered before the marker.
 *
 * Markers live in this process only: a marker emitted elsewhere (another
 * process) never reaches this reader.
 */
export class DynamoDbMarkerGate {
  #counter = 0;
  readonly #pending: PendingMarker[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  /**
   * Queues a marker and resolves when a reader placed it. Rejects when
   * `signal` aborts or the gate closes (the source closed) first; the
   * marker is then dropped.
   */
  emit(content: string, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted === true) return Promise.reject(abortedError());
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#drop(marker);
        reject(abortedError());
      };
      const marker: PendingMarker = {
        content,
        ticket: ++this.#counter,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.push(marker);
      // a reader idling between poll rounds starts the next one now
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    });
  }

  /** Whether markers wait to be placed. */
  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** Taken by the reader when a poll round begins: the markers emitted so far may be placed after it. */
  roundStarts(): number {
    return this.#counter;
  }

  /**
   * The reader finished a poll round that began with `ticket` and, if
   * `drained`, found every shard drained: the markers it may place now, in
   * emission order (empty when none). Each one's `emit` resolves.
   */
  place(ticket: number, drained: boolean): string[] {
    if (!drained || this.#pending.length === 0) return [];
    const placed: string[] = [];
    while (this.#pending.length > 0 && (this.#pending[0] as PendingMarker).ticket <= ticket) {
      const marker = this.#pending.shift() as PendingMarker;
      placed.push(marker.content);
      marker.resolve();
    }
    return placed;
  }

  /** Waits `ms` between poll rounds, or less when a marker is emitted meanwhile (or is pending already). */
  async idle(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#pending.length > 0) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", aborted);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const aborted = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        reject(abortedError());
      };
      const timer = setTimeout(done, ms);
      if (signal?.aborted === true) return aborted();
      signal?.addEventListener("abort", aborted, { once: true });
      this.#wake = done;
    });
  }

  /** The source closes: pending markers are rejected, later ones at once. */
  close(): void {
    this.#closed = true;
    for (const marker of this.#pending.splice(0)) marker.reject(closedError());
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #drop(marker: PendingMarker): void {
    const i = this.#pending.indexOf(marker);
    if (i >= 0) this.#pending.splice(i, 1);
  }
}

function abortedError(): ZeroEtlError {
  return new ZeroEtlError("dynamodb marker aborted before the stream reader placed it", { code: "aborted" });
}

function closedError(): ZeroEtlError {
  return new ZeroEtlError("dynamodb source closed before the stream reader placed the marker", { code: "aborted" });
}
