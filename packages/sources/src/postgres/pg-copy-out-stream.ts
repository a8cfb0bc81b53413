import type pg from "pg";

/** Bytes gathered into one block before it is handed on: big enough that per-row costs vanish downstream. */
const BLOCK_BYTES = 256 * 1024;
/** Blocks queued before the socket is paused (back-pressure on the server). */
const HIGH_WATER_BLOCKS = 8;

/** The slice of pg's connection a COPY OUT drives. */
interface CopyConnection {
  query(text: string): void;
  readonly stream: { pause(): void; resume(): void };
}

/**
 * Runs `COPY … TO STDOUT` on `client` and yields its data in blocks of about
 * 256 KiB (rows are copied into a block, never kept one by one), pausing the
 * socket while the consumer is behind. Resolves each block as a fresh
 * `Buffer` the consumer may keep. The client must be otherwise idle; after a
 * break-off (the consumer stopped early) it is in the middle of the COPY and
 * must be closed, which {@link CopyOutStream.broken} says.
 */
export class CopyOutStream implements AsyncIterable<Buffer> {
  readonly #client: pg.Client;
  readonly #text: string;
  #connection: CopyConnection | undefined;
  #block = Buffer.allocUnsafe(BLOCK_BYTES);
  #filled = 0;
  readonly #queue: Buffer[] = [];
  #paused = false;
  #finished = false;
  #error: unknown;
  #wake: (() => void) | undefined;
  #started = false;
  /** The row count from the server's `COPY n` tag, once finished. */
  rows = 0;
  /** True when iteration stopped before the server finished: the client cannot be reused. */
  broken = false;

  constructor(client: pg.Client, text: string) {
    this.#client = client;
    this.#text = text;
  }

  // --- pg's Submittable protocol (called by the client) ---
  submit(connection: CopyConnection): void {
    this.#connection = connection;
    connection.query(this.#text);
  }
  /**
   * pg's completion callback, which pg wraps to clear its query_timeout
   * timer; called with an error when that timer fires. Always called once
   * at the end ({@link #settled}), so the timer never outlives the COPY.
   */
  callback = (error: unknown): void => {
    if (error !== null && error !== undefined) this.#fail(error);
  };
  #settled(): void {
    const callback = this.callback;
    this.callback = () => {};
    callback(null);
  }

  handleCopyInResponse(): void {
    this.#fail(new Error("COPY OUT expected, server asked for COPY IN"));
  }
  handleCopyData(message: { chunk: Buffer }): void {
    const chunk = message.chunk;
    const queued = this.#queue.length;
    if (this.#filled + chunk.length > this.#block.length) this.#pushBlock();
    if (chunk.length > this.#block.length) {
      this.#queue.push(Buffer.from(chunk));
    } else {
      chunk.copy(this.#block, this.#filled);
      this.#filled += chunk.length;
    }
    if (this.#queue.length >= HIGH_WATER_BLOCKS && !this.#paused) {
      this.#paused = true;
      this.#connection?.stream.pause();
    }
    // the consumer is woken per block, not per row: a row that only fills the block changes nothing for it
    if (this.#queue.length !== queued) this.#notify();
  }
  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? "");
    if (match?.[1] !== undefined) this.rows = Number(match[1]);
    this.#pushBlock();
  }
  handleReadyForQuery(): void {
    this.#settled();
    this.#finished = true;
    this.#notify();
  }
  handleError(error: unknown): void {
    this.#settled();
    this.#fail(error);
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.#started) throw new Error("a COPY OUT stream is read once");
    this.#started = true;
    let done = false;
    const closed = (): void => this.#fail(new Error("connection closed during COPY"));
    this.#client.once("end", closed);
    // a Submittable: pg hands it the connection and routes the COPY messages to it
    (this.#client as unknown as { query(submittable: unknown): unknown }).query(this);
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next !== undefined) {
          if (this.#paused && this.#queue.length < HIGH_WATER_BLOCKS / 2) {
            this.#paused = false;
            this.#connection?.stream.resume();
          }
          yield next;
          continue;
        }
        if (this.#error !== undefined) throw this.#error;
        if (this.#finished) {
          done = true;
          return;
        }
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      this.#client.removeListener("end", closed);
      if (!done) this.broken = true;
      if (this.#paused) this.#connection?.stream.resume();
    }
  }

  #pushBlock(): void {
    if (this.#filled === 0) return;
    this.#queue.push(this.#block.subarray(0, this.#filled));
    this.#block = Buffer.allocUnsafe(BLOCK_BYTES);
    this.#filled = 0;
  }

  #fail(error: unknown): void {
    this.#error ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
