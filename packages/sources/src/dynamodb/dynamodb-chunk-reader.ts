import { ZeroEtlError, tableKey } from "@zero-etl/core";
import type { IncrementalChunk, ReadChunkOptions, Row } from "@zero-etl/core";
import type { DynamoDbApi } from "./dynamodb-api.js";
import { createBackoff, errorName, isThrottlingError } from "./dynamodb-backoff.js";
import type { DynamoDbTableModel } from "./dynamodb-table-model.js";
import type { AttributeMap, AttributeValue } from "./dynamodb-value.js";

/** What {@link readScanChunk} reads from. */
export interface ScanChunkSource {
  readonly api: DynamoDbApi;
  readonly table: string;
  readonly model: DynamoDbTableModel;
}

/**
 * One chunk of an incremental snapshot: one strongly consistent Scan page
 * (`ConsistentRead`, `Limit` = the chunk's rows, `ExclusiveStartKey` = the
 * previous chunk's cursor). A Scan walks the table in its own (hash) order,
 * not by key; the cursor is the page's `LastEvaluatedKey`, which is all a
 * Scan needs to go on, and the chunk is the last when DynamoDB returns none.
 * Each item is read strongly consistently when the page reaches it, so its
 * value is its latest as of a moment after the call started.
 *
 * With routing, one base-table page holds items of several target tables:
 * the chunk keeps those of `options.schema.table` (a routed table's chunks
 * may then be short or empty, each still carrying the cursor).
 */
export async function readScanChunk(source: ScanChunkSource, options: ReadChunkOptions): Promise<IncrementalChunk> {
  const { api, model } = source;
  const want = tableKey(options.schema.table);
  const start = options.after === undefined ? undefined : decodeScanCursor(options.after);
  const backoff = createBackoff();
  for (;;) {
    let out;
    try {
      out = await api.scan(
        {
          TableName: source.table,
          ConsistentRead: true,
          Limit: options.limit,
          ...(start === undefined ? {} : { ExclusiveStartKey: start as never }),
        },
        options.signal,
      );
    } catch (cause) {
      if (isThrottlingError(cause) && backoff.attempts < 12) {
        await backoff.wait(options.signal);
        continue;
      }
      if (options.signal?.aborted === true) throw new ZeroEtlError("dynamodb scan aborted", { code: "aborted", cause });
      throw new ZeroEtlError(`dynamodb Scan of an incremental snapshot chunk failed for table ${source.table} (${errorName(cause)})`, {
        code: "source-failed",
        retryable: isThrottlingError(cause) || errorName(cause) === "InternalServerError",
        cause,
        table: source.table,
      });
    }
    const items = (out.Items ?? []) as unknown as AttributeMap[];
    const rows: Row[] = [];
    for (const item of items) {
      if (model.routed && tableKey(model.route(item)) !== want) continue;
      rows.push(model.toRow(item));
    }
    const last = out.LastEvaluatedKey === undefined;
    const cursor = last ? undefined : encodeScanCursor(out.LastEvaluatedKey as unknown as AttributeMap);
    return cursor === undefined ? { rows, last } : { rows, cursor, last };
  }
}

/** Serializes a Scan's `LastEvaluatedKey` (scalar key attributes) as JSON text; binary as base64. */
export function encodeScanCursor(key: AttributeMap): string {
  const out: Record<string, { S: string } | { N: string } | { B64: string }> = {};
  for (const name of Object.keys(key).sort()) {
    const v = key[name] as AttributeValue;
    if (v.S !== undefined) out[name] = { S: v.S };
    else if (v.N !== undefined) out[name] = { N: v.N };
    else if (v.B !== undefined) out[name] = { B64: Buffer.from(v.B).toString("base64") };
    else throw new ZeroEtlError(`dynamodb scan cursor attribute ${name} is not a scalar key value`, { code: "internal" });
  }
  return JSON.stringify(out);
}

/** Parses {@link encodeScanCursor}'s text back into an `ExclusiveStartKey`. */
export function decodeScanCursor(text: string): AttributeMap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ZeroEtlError("invalid dynamodb incremental snapshot cursor: not JSON", { code: "position-invalid", cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ZeroEtlError("invalid dynamodb incremental snapshot cursor: not an object", { code: "position-invalid" });
  const key: Record<string, AttributeValue> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    const v = raw as Record<string, unknown> | null;
    if (v !== null && typeof v.S === "string") key[name] = { S: v.S };
    else if (v !== null && typeof v.N === "string") key[name] = { N: v.N };
    else if (v !== null && typeof v.B64 === "string") key[name] = { B: new Uint8Array(Buffer.from(v.B64, "base64")) };
    else throw new ZeroEtlError(`invalid dynamodb incremental snapshot cursor: attribute ${name} is not S, N or B64`, { code: "position-invalid" });
  }
  return key;
}
