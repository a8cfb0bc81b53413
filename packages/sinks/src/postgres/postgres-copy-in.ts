import type pg from "pg";

/** The part of `pg`'s connection a submittable query drives (not in its public types). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/**
 * `COPY … FROM STDIN` of a payload already in memory, as a `pg` submittable
 * query (what `client.query` accepts besides text): the statement goes as a
 * simple query, the server answers CopyInResponse, the chunks go as CopyData
 * and CopyDone, and the promise settles at ReadyForQuery with the row count
 * of the last CommandComplete (or with the server's error, which then names
 * the line). `text` may put statements without results before the COPY
 * (`SAVEPOINT …; COPY …`), which then cost no round trip of their own; the
 * first failing statement ends the query. No dependency beyond `pg` itself.
 */
export function copyIn(client: pg.Client, text: string, chunks: readonly Buffer[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let rows = 0;
    let failed: unknown;
    let settled = false;
    const submittable = {
      text,
      // pg wraps this to clear its query timeout, and calls it when the timeout fires
      callback: (error: unknown): void => {
        if (settled) return;
        settled = true;
        if (error === undefined || error === null) resolve(rows);
        else reject(error);
      },
      submit(connection: CopyConnection): void {
        connection.query(text);
      },
      handleCopyInResponse(connection: CopyConnection): void {
        for (const chunk of chunks) connection.sendCopyFromChunk(chunk);
        connection.endCopyFrom();
      },
      handleCommandComplete(message: { text?: string }): void {
        const count = /(\d+)$/.exec(message.text ?? "");
        rows = count === null ? 0 : Number(count[1]);
      },
      handleError(error: unknown): void {
        // the client drops this query as its active one on an error: settle now
        failed = error;
        submittable.callback(error);
      },
      handleReadyForQuery(): void {
        submittable.callback(failed);
      },
      // a COPY FROM never produces rows; these keep the client's dispatch total
      handleRowDescription(): void {},
      handleDataRow(): void {},
      handleEmptyQuery(): void {},
      handlePortalSuspended(): void {},
      handleCopyData(): void {},
    };
    (client as unknown as { query(q: unknown): void }).query(submittable);
  });
}
