import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ZeroEtlError } from "@zero-etl/core";
import type { ChangeEvent } from "@zero-etl/core";
import type { S3ObjectApi } from "./dynamodb-api.js";
import { errorName } from "./dynamodb-backoff.js";
import type { DynamoDbChangeRecord } from "./dynamodb-record-decoder.js";
import { decodeChangeRecord } from "./dynamodb-record-decoder.js";
import type { DynamoDbTableModel } from "./dynamodb-table-model.js";
import type { AttributeMap } from "./dynamodb-value.js";
import { decodeExportAttributeMap } from "./dynamodb-value.js";

/** The fields of `manifest-summary.json` the reader uses. */
export interface ExportManifestSummary {
  readonly exportArn?: string;
  readonly tableArn?: string;
  /** ISO time the full export is consistent with. */
  readonly exportTime?: string;
  readonly itemCount?: number;
  readonly outputFormat: string;
  /** `FULL_EXPORT` (also when absent, as in older exports) or `INCREMENTAL_EXPORT`. */
  readonly exportType: "FULL_EXPORT" | "INCREMENTAL_EXPORT";
  readonly exportFromTime?: string;
  readonly exportToTime?: string;
  /** For incremental exports: `NEW_AND_OLD_IMAGES` or `NEW_IMAGE`. */
  readonly outputView?: string;
  readonly manifestFilesS3Key: string;
}

/** One line of `manifest-files.json`. */
export interface ExportDataFile {
  readonly dataFileS3Key: string;
  readonly itemCount: number;
}

/** Options of {@link createDynamoDbExportReader}. */
export interface ExportReaderOptions {
  readonly s3: S3ObjectApi;
  readonly bucket: string;
  /** Key of the export's `manifest-summary.json` (`<prefix>/AWSDynamoDB/<ExportId>/manifest-summary.json`). */
  readonly manifestSummaryKey: string;
  readonly signal?: AbortSignal;
}

/** One change of an incremental export, in stream-record shape, with its write time. */
export interface IncrementalExportRecord extends DynamoDbChangeRecord {
  /** `Metadata.WriteTimestampMicros` as a digit string. */
  readonly writeTimestampMicros: string;
}

/** Reads a DynamoDB export to S3 (DYNAMODB_JSON, gzip), full or incremental. */
export interface DynamoDbExportReader {
  /** The summary manifest and the data files it lists. */
  manifest(): Promise<{ readonly summary: ExportManifestSummary; readonly files: readonly ExportDataFile[] }>;
  /** A full export's items, in pages of at most `pageSize` (1000 by default), file by file. */
  items(pageSize?: number): AsyncGenerator<AttributeMap[]>;
  /** An incremental export's changes, in pages, file by file. */
  changes(pageSize?: number): AsyncGenerator<IncrementalExportRecord[]>;
}

function exportError(message: string, cause?: unknown): ZeroEtlError {
  return new ZeroEtlError(cause === undefined ? message : `${message} (${errorName(cause)})`, {
    code: "source-failed",
    retryable: cause !== undefined && errorName(cause) !== "NoSuchKey",
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Creates an export reader. It follows the documented layout: the summary
 * names `manifest-files.json` (JSON lines of `dataFileS3Key`, `itemCount`),
 * whose data files are gzipped JSON lines: `{"Item": {...}}` for a full
 * export, `{"Metadata": {"WriteTimestampMicros": ...}, "Keys", "OldImage",
 * "NewImage"}` for an incremental one. Binary members arrive as base64 and
 * are decoded to bytes. Each data file's line count is checked against the
 * manifest's `itemCount`. Only DYNAMODB_JSON is supported (not ION).
 */
export function createDynamoDbExportReader(options: ExportReaderOptions): DynamoDbExportReader {
  const { s3, bucket, signal } = options;
  let cached: Promise<{ summary: ExportManifestSummary; files: ExportDataFile[] }> | undefined;

  const get = async (key: string): Promise<Uint8Array> => {
    try {
      return await s3.getObjectBytes({ bucket, key }, signal);
    } catch (cause) {
      throw exportError(`dynamodb export: cannot read s3://${bucket}/${key}`, cause);
    }
  };

  const loadManifest = async () => {
    const summaryText = Buffer.from(await get(options.manifestSummaryKey)).toString("utf8");
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(summaryText) as Record<string, unknown>;
    } catch (cause) {
      throw exportError(`dynamodb export: ${options.manifestSummaryKey} is not JSON`, cause);
    }
    const outputFormat = typeof raw.outputFormat === "string" ? raw.outputFormat : "DYNAMODB_JSON";
    if (outputFormat !== "DYNAMODB_JSON") {
      throw new ZeroEtlError(`dynamodb export: output format ${outputFormat} is not supported; export as DYNAMODB_JSON`, { code: "config-invalid" });
    }
    const dir = options.manifestSummaryKey.slice(0, options.manifestSummaryKey.lastIndexOf("/") + 1);
    const str = (k: string) => (typeof raw[k] === "string" ? { [k]: raw[k] as string } : {});
    const summary: ExportManifestSummary = {
      ...str("exportArn"),
      ...str("tableArn"),
      ...str("exportTime"),
      ...str("exportFromTime"),
      ...str("exportToTime"),
      ...str("outputView"),
      ...(typeof raw.itemCount === "number" ? { itemCount: raw.itemCount } : {}),
      outputFormat,
      exportType: raw.exportType === "INCREMENTAL_EXPORT" ? "INCREMENTAL_EXPORT" : "FULL_EXPORT",
      manifestFilesS3Key: typeof raw.manifestFilesS3Key === "string" ? raw.manifestFilesS3Key : `${dir}manifest-files.json`,
    };
    const filesText = Buffer.from(await get(summary.manifestFilesS3Key)).toString("utf8");
    const files: ExportDataFile[] = [];
    for (const line of filesText.split("\n")) {
      if (line.trim() === "") continue;
      const entry = JSON.parse(line) as { dataFileS3Key?: unknown; itemCount?: unknown };
      if (typeof entry.dataFileS3Key !== "string") throw exportError(`dynamodb export: ${summary.manifestFilesS3Key} has a line without dataFileS3Key`);
      files.push({ dataFileS3Key: entry.dataFileS3Key, itemCount: typeof entry.itemCount === "number" ? entry.itemCount : -1 });
    }
    return { summary, files };
  };

  const manifest = () => (cached ??= loadManifest());

  async function* lines(file: ExportDataFile): AsyncGenerator<string> {
    const bytes = await get(file.dataFileS3Key);
    if (bytes.byteLength === 0) return;
    const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
    const source = Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
    const stream = gzipped ? source.pipe(createGunzip()) : source;
    let rest = "";
    let count = 0;
    for await (const piece of stream as AsyncIterable<Buffer>) {
      const text = rest + piece.toString("utf8");
      let start = 0;
      for (let nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
        if (nl > start) {
          count++;
          yield text.slice(start, nl);
        }
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    if (rest.trim() !== "") {
      count++;
      yield rest;
    }
    if (file.itemCount >= 0 && count !== file.itemCount) {
      throw exportError(`dynamodb export: ${file.dataFileS3Key} has ${count} lines but the manifest lists ${file.itemCount}`);
    }
  }

  return {
    manifest,
    async *items(pageSize = 1000) {
      const { summary, files } = await manifest();
      if (summary.exportType !== "FULL_EXPORT") throw exportError("dynamodb export: items() needs a full export; use changes() for an incremental one");
      let page: AttributeMap[] = [];
      for (const file of files) {
        for await (const line of lines(file)) {
          const parsed = JSON.parse(line) as { Item?: Record<string, unknown> };
          if (parsed.Item === undefined) throw exportError(`dynamodb export: a line of ${file.dataFileS3Key} has no Item`);
          page.push(decodeExportAttributeMap(parsed.Item));
          if (page.length >= pageSize) {
            yield page;
            page = [];
          }
        }
      }
      if (page.length > 0) yield page;
    },
    async *changes(pageSize = 1000) {
      const { summary, files } = await manifest();
      if (summary.exportType !== "INCREMENTAL_EXPORT") throw exportError("dynamodb export: changes() needs an incremental export");
      let page: IncrementalExportRecord[] = [];
      for (const file of files) {
        for await (const line of lines(file)) {
          page.push(toIncrementalRecord(JSON.parse(line) as Record<string, unknown>, file.dataFileS3Key));
          if (page.length >= pageSize) {
            yield page;
            page = [];
          }
        }
      }
      if (page.length > 0) yield page;
    },
  };
}

function toIncrementalRecord(line: Record<string, unknown>, file: string): IncrementalExportRecord {
  const keys = line.Keys as Record<string, unknown> | undefined;
  if (keys === undefined) throw exportError(`dynamodb export: a line of ${file} has no Keys`);
  const metadata = line.Metadata as { WriteTimestampMicros?: { N?: string } } | undefined;
  const micros = metadata?.WriteTimestampMicros?.N ?? "0";
  const newImage = line.NewImage === undefined ? undefined : decodeExportAttributeMap(line.NewImage as Record<string, unknown>);
  const oldImage = line.OldImage === undefined ? undefined : decodeExportAttributeMap(line.OldImage as Record<string, unknown>);
  // with NEW_IMAGE view an update has no OldImage; either way the sink upserts, so INSERT is a safe name for it
  const eventName = newImage === undefined ? "REMOVE" : oldImage === undefined ? "INSERT" : "MODIFY";
  return {
    eventName,
    writeTimestampMicros: micros,
    dynamodb: {
      Keys: decodeExportAttributeMap(keys),
      ...(newImage === undefined ? {} : { NewImage: newImage }),
      ...(oldImage === undefined ? {} : { OldImage: oldImage }),
      ApproximateCreationDateTime: new Date(Number(BigInt(micros) / 1000n)),
    },
  };
}

/**
 * Turns incremental-export records into change events. Positions are
 * `<exportId>/<WriteTimestampMicros>`; an incremental export holds the net
 * change of each item over its period, so there is one event per item.
 */
export function incrementalExportEvents(records: readonly IncrementalExportRecord[], model: DynamoDbTableModel, exportId: string): ChangeEvent[] {
  const out: ChangeEvent[] = [];
  for (const record of records) decodeChangeRecord(record, { model, position: `${exportId}/${record.writeTimestampMicros}`, out });
  return out;
}
