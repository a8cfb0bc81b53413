import { ZeroEtlError } from "@zero-etl/core";
import type { IcebergField } from "./iceberg-schema.js";
import { writeParquetFile } from "./parquet-file-writer.js";
import type { EncodedRow } from "./parquet-file-writer.js";

/**
 * Finds the rows the Parquet writer refuses (`record-rejected`: a null in a
 * required field, a value that does not fit its type), with the writer's
 * reason naming the column. Only called after a data file failed, so the
 * common path never pays for it: the rows are encoded in memory in halves,
 * recursing into a half only when it fails, which costs about two encodes of
 * the whole buffer per bad row at most, and far less for few bad rows.
 * Errors other than a refused record are rethrown.
 */
export function findUnwritableRows(fields: readonly IcebergField[], rows: readonly EncodedRow[]): Map<number, string> {
  const bad = new Map<number, string>();
  const visit = (from: number, to: number): void => {
    if (from >= to) return;
    const reason = refusal(fields, rows.slice(from, to));
    if (reason === undefined) return;
    if (to - from === 1) {
      bad.set(from, reason);
      return;
    }
    const mid = (from + to) >>> 1;
    visit(from, mid);
    visit(mid, to);
  };
  visit(0, rows.length);
  return bad;
}

/** The writer's reason for refusing `rows`, without the row number (the dead letter names the row by its key), or undefined. */
function refusal(fields: readonly IcebergField[], rows: readonly EncodedRow[]): string | undefined {
  try {
    writeParquetFile({ fields, rows, codec: "uncompressed" });
    return undefined;
  } catch (error) {
    if (!isRecordRejected(error)) throw error;
    return error.message.replace(/,? row \d+ of the file/, "");
  }
}

/** Whether `error` is the writer refusing a record (as opposed to a bug or an I/O failure). */
export function isRecordRejected(error: unknown): error is ZeroEtlError {
  return error instanceof ZeroEtlError && error.code === "record-rejected";
}
