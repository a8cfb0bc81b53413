import type pg from "pg";

/** The slice of pg's connection a COPY IN drives. */
interface CopyConnection {
  query(text: string): void;
  readonly stream: { write(data: Uint8Array): boolean; once(event: "drain" | "close", listener: () => void): unknown; removeListener(event: "drain" | "close", listener: () => void): unknown };
}

const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

/**
 * `COPY … FROM STDIN` on one pg client: {@link write} sends bytes as they
 * come (each call one CopyData message, the bytes themselves not copied),
 * waiting while the socket's buffer is full; {@link end} finishes and
 * resolves to the server's row count; {@link fail} aborts the COPY (the
 * server rolls it back) and resolves once the server has answered. `text`
 * may put statements without results before the COPY (`SAVEPOINT …; COPY
 * …`, one simple query): {@link start} then rejects with the first one's
 * failure, and the row count is the COPY's.
 */
export class CopyInStream {
  readonly #client: pg.Client;
  readonly #text: string;
  #connection: CopyConnection | undefined;
  #ready: Promise<void>;
  #readyResolve: () => void = () => {};
  #finished: Promise<number>;
  #finishResolve: (rows: number) => void = () => {};
  #finishReject: (error: unknown) => void = () => {};
  #error: unknown;
  #rows = 0;

  constructor(client: pg.Client, text: string) {
    this.#client = client;
    this.#text = text;
    let readyReject: (error: unknown) => void = () => {};
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      readyReject = reject;
    });
    this.#finished = new Promise<number>((resolve, reject) => {
      this.#finishResolve = resolve;
      this.#finishReject = (error) => {
        readyReject(error);
        reject(error);
      };
    });
    // observed by whoever awaits them; never an unhandled rejection in between
    this.#ready.catch(() => {});
    this.#finished.catch(() => {});
  }

  /** Sends the COPY statement; resolves once the server waits for data. */
  start(): Promise<void> {
    (this.#client as unknown as { query(submittable: unknown): unknown }).query(this);
    return this.#ready;
  }

  /** Sends one block of COPY data; waits while the socket is full. */
  async write(block: Uint8Array): Promise<void> {
    const connection = this.#connection;
    if (this.#error !== undefined) throw this.#error;
    if (connection === undefined) throw new Error("COPY IN not started");
    const header = Buffer.allocUnsafe(5);
    header[0] = 0x64;
    header.writeUInt32BE(block.length + 4, 1);
    connection.stream.write(header);
    if (!connection.stream.write(block)) await this.#drained(connection);
  }

  /** Ends the data; resolves to the rows the server loaded. */
  end(): Promise<number> {
    this.#connection?.stream.write(COPY_DONE);
    return this.#finished;
  }

  /** Aborts the COPY with `reason`; resolves once the server has rolled it back (its error is expected and dropped). */
  async fail(reason: string): Promise<void> {
    const connection = this.#connection;
    if (connection !== undefined && this.#error === undefined) {
      const text = Buffer.from(`${reason}\0`, "utf8");
      const header = Buffer.allocUnsafe(5);
      header[0] = 0x66;
      header.writeUInt32BE(text.length + 4, 1);
      connection.stream.write(Buffer.concat([header, text]));
    }
    await this.#finished.catch(() => {});
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
    if (error !== null && error !== undefined) this.handleError(error);
  };
  #settled(): void {
    const callback = this.callback;
    this.callback = () => {};
    callback(null);
  }

  handleCopyInResponse(): void {
    this.#readyResolve();
  }
  handleCopyData(): void {}
  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? "");
    if (match?.[1] !== undefined) this.#rows = Number(match[1]);
  }
  handleReadyForQuery(): void {
    this.#settled();
    if (this.#error === undefined) this.#finishResolve(this.#rows);
  }
  handleError(error: unknown): void {
    this.#settled();
    if (this.#error !== undefined) return;
    this.#error = error;
    this.#finishReject(error);
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  #drained(connection: CopyConnection): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        connection.stream.removeListener("drain", done);
        connection.stream.removeListener("close", closed);
        resolve();
      };
      const closed = (): void => {
        connection.stream.removeListener("drain", done);
        reject(new Error("connection closed during COPY"));
      };
      connection.stream.once("drain", done);
      connection.stream.once("close", closed);
      this.#finished.catch((error: unknown) => {
        connection.stream.removeListener("drain", done);
        connection.stream.removeListener("close", closed);
        reject(error);
      });
    });
  }
}
