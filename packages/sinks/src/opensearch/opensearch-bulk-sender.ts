import type { Client } from "@opensearch-project/opensearch";
import type { ChangeEvent, Logger, RejectedRecord } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/** One document operation of a bulk: its action line and, for `index`, the document. */
export interface BulkOperation {
  /** The action line, without newline. */
  readonly action: string;
  /** The document JSON for `index`; undefined for `delete`. */
  readonly document: string | undefined;
  /** The change it applies, for the dead-letter queue. */
  readonly event: ChangeEvent;
  /** `namespace.name` of its table, for errors. */
  readonly table: string;
}

/** The action line of an operation; `version` makes it an external_gte versioned write. */
export function bulkAction(op: "index" | "delete", index: string, id: string, version: bigint | undefined): string {
  const head = `{"${op}":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)}`;
  return version === undefined ? `${head}}}` : `${head},"version":${version.toString()},"version_type":"external_gte"}}`;
}

/** Limits and back-off of a {@link BulkSender}. */
export interface BulkSenderOptions {
  readonly maxBytes: number;
  readonly maxDocuments: number;
  readonly maxAttempts: number;
  readonly logger: Logger;
  /** Back-off before attempt `n` (1-based, n ≥ 2); default 100 ms doubling to 10 s with full jitter. */
  readonly backoffMs?: (attempt: number) => number;
}

interface BulkItemResult {
  readonly status: number;
  readonly error?: { readonly type?: string; readonly reason?: string; readonly caused_by?: { readonly reason?: string } };
}

/** Item errors that the same request can succeed with later. */
const TRANSIENT_TYPES = new Set(["es_rejected_execution_exception", "unavailable_shards_exception", "cluster_block_exception", "process_cluster_event_timeout_exception"]);

function defaultBackoff(attempt: number): number {
  return Math.random() * Math.min(10_000, 100 * 2 ** (attempt - 2));
}

/**
 * Sends operations as `_bulk` requests sized by bytes and count, in order,
 * one request at a time (so a later write of a document never overtakes an
 * earlier one). Per item: success, a version conflict (an older write than
 * the document holds: done), a missing document on delete (done) and a
 * transient refusal (429/503, retried with back-off) are handled; anything
 * else (a mapping conflict, a document the field types refuse, one too
 * large) is rejected with OpenSearch's reason and the rest of the bulk lands.
 * A whole request refused with 429/502/503/504 or a broken connection is
 * retried with back-off; after `maxAttempts` the error is thrown, retryable.
 */
export class BulkSender {
  readonly #client: Client;
  readonly #o: BulkSenderOptions;

  constructor(client: Client, options: BulkSenderOptions) {
    this.#client = client;
    this.#o = options;
  }

  /** Sends every operation; returns those rejected. */
  async send(operations: readonly BulkOperation[], signal?: AbortSignal): Promise<RejectedRecord[]> {
    const rejected: RejectedRecord[] = [];
    let start = 0;
    while (start < operations.length) {
      let bytes = 0;
      let end = start;
      while (end < operations.length && end - start < this.#o.maxDocuments) {
        const op = operations[end] as BulkOperation;
        const size = op.action.length + (op.document === undefined ? 1 : op.document.length + 2);
        if (end > start && bytes + size > this.#o.maxBytes) break;
        bytes += size;
        end++;
      }
      await this.#sendChunk(operations.slice(start, end), rejected, signal);
      start = end;
    }
    return rejected;
  }

  async #sendChunk(chunk: readonly BulkOperation[], rejected: RejectedRecord[], signal: AbortSignal | undefined): Promise<void> {
    let pending = chunk;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await sleep((this.#o.backoffMs ?? defaultBackoff)(attempt), signal);
      let body = "";
      for (const op of pending) body += op.document === undefined ? `${op.action}\n` : `${op.action}\n${op.document}\n`;
      let items: readonly Record<string, BulkItemResult>[];
      try {
        const response = await this.#client.transport.request(
          { method: "POST", path: "/_bulk", bulkBody: body },
          { ignore: [413, 429, 502, 503, 504], maxRetries: 0 },
        );
        const status = response.statusCode ?? 0;
        if (status === 413 && pending.length === 1) {
          const op = pending[0] as BulkOperation;
          rejected.push({ event: op.event, reason: `document too large for the cluster (HTTP 413, ${body.length} bytes)` });
          return;
        }
        if (status >= 400) {
          if (attempt >= this.#o.maxAttempts) throw new ZeroEtlError(`opensearch _bulk refused with HTTP ${status} ${attempt} times`, { code: "sink-failed", retryable: true });
          this.#o.logger.warn("opensearch _bulk refused; backing off", { status, attempt, documents: pending.length });
          continue;
        }
        items = (response.body as { items: readonly Record<string, BulkItemResult>[] }).items;
      } catch (error) {
        if (error instanceof ZeroEtlError) throw error;
        if (attempt >= this.#o.maxAttempts) throw new ZeroEtlError(`opensearch _bulk failed: ${(error as Error).message}`, { code: "sink-failed", retryable: true, cause: error });
        this.#o.logger.warn("opensearch _bulk failed; retrying", { attempt, error: (error as Error).message });
        continue;
      }
      const retry: BulkOperation[] = [];
      for (let i = 0; i < pending.length; i++) {
        const op = pending[i] as BulkOperation;
        const item = items[i];
        const result = item === undefined ? undefined : (item.index ?? item.delete ?? item.update);
        if (result === undefined) throw new ZeroEtlError(`opensearch _bulk answered ${items.length} items for ${pending.length}`, { code: "sink-failed", table: op.table });
        const type = result.error?.type;
        if (result.status < 300) continue;
        if (result.status === 409 && type === "version_conflict_engine_exception") continue;
        if (result.status === 404 && op.document === undefined && type === undefined) continue;
        // a guarded delete (a scripted update, see opensearch-guarded-write-encoder) of a document that is not there
        if (result.status === 404 && type === "document_missing_exception") continue;
        if (result.status === 429 || result.status === 503 || (type !== undefined && TRANSIENT_TYPES.has(type))) {
          retry.push(op);
          continue;
        }
        if (type === "index_not_found_exception") {
          throw new ZeroEtlError(`opensearch index of ${op.table} is missing`, { code: "sink-failed", table: op.table });
        }
        const cause = result.error?.caused_by?.reason;
        rejected.push({ event: op.event, reason: `opensearch ${type ?? `HTTP ${result.status}`}: ${result.error?.reason ?? ""}${cause === undefined ? "" : ` (${cause})`}` });
      }
      if (retry.length === 0) return;
      if (attempt >= this.#o.maxAttempts) {
        throw new ZeroEtlError(`opensearch refused ${retry.length} bulk items as overloaded ${attempt} times`, { code: "sink-failed", retryable: true });
      }
      this.#o.logger.warn("opensearch refused bulk items as overloaded; backing off", { attempt, documents: retry.length });
      pending = retry;
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(new ZeroEtlError("aborted", { code: "aborted" }));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ZeroEtlError("aborted", { code: "aborted" }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
