import { ZeroEtlError, tableKey } from "@zero-etl/core";
import type { ChangeEvent, DeleteEvent, TableRef } from "@zero-etl/core";
import type { DynamoDbTableModel } from "./dynamodb-table-model.js";
import type { AttributeMap } from "./dynamodb-value.js";

/**
 * A delete from DynamoDB. `expired` is true when Time To Live removed the
 * item (the stream record's `userIdentity.principalId` is
 * `dynamodb.amazonaws.com`), so a target may keep expired rows if it wants.
 */
export interface DynamoDbDeleteEvent extends DeleteEvent {
  readonly expired?: true;
}

/** The parts of a DynamoDB Streams record (or an incremental export line) the decoder reads. */
export interface DynamoDbChangeRecord {
  readonly eventName?: string | undefined;
  readonly userIdentity?: { readonly principalId?: string | undefined; readonly type?: string | undefined } | undefined;
  readonly dynamodb?:
    | {
        readonly Keys?: AttributeMap | undefined;
        readonly NewImage?: AttributeMap | undefined;
        readonly OldImage?: AttributeMap | undefined;
        readonly SequenceNumber?: string | undefined;
        readonly ApproximateCreationDateTime?: Date | undefined;
      }
    | undefined;
}

const TTL_PRINCIPAL = "dynamodb.amazonaws.com";

/** Options of {@link decodeChangeRecord}. */
export interface DecodeChangeOptions {
  readonly model: DynamoDbTableModel;
  /** The event's serialized position. */
  readonly position: string;
  /** Receives the decoded events (one, or two when routing moves an item between tables). */
  readonly out: ChangeEvent[];
}

/**
 * Decodes one stream record into change events: INSERT -> insert (after =
 * NewImage), MODIFY -> update (key from Keys, before = OldImage, after =
 * NewImage), REMOVE -> delete (key, before = OldImage; `expired` for TTL).
 * When routing sends the old and new image to different tables, a MODIFY
 * becomes a delete in the old table and an insert in the new one.
 * `commitTime` is ApproximateCreationDateTime.
 *
 * A record whose images cannot be decoded (an attribute value of a type
 * DynamoDB does not have) throws a non-retryable `record-rejected` error
 * naming the base table and the position, and appends nothing; the stream
 * reader hands it to the runtime's dead-letter queue
 * ({@link undecodableRecordEvent}, `ChangeBatch.rejected`).
 */
export function decodeChangeRecord(record: DynamoDbChangeRecord, options: DecodeChangeOptions): void {
  const before = options.out.length;
  try {
    decodeRecord(record, options);
  } catch (error) {
    options.out.length = before;
    if (!(error instanceof ZeroEtlError) || error.code !== "record-rejected") throw error;
    const table = tableKey(options.model.base);
    throw new ZeroEtlError(`dynamodb stream record at ${options.position} of table ${table} cannot be decoded: ${error.message}`, { code: "record-rejected", table, cause: error });
  }
}

function decodeRecord(record: DynamoDbChangeRecord, options: DecodeChangeOptions): void {
  const { model, position, out } = options;
  const data = record.dynamodb;
  const keys = data?.Keys;
  if (data === undefined || keys === undefined) {
    throw new ZeroEtlError(`dynamodb stream record at ${position} of table ${model.base.name} has no Keys`, { code: "source-failed" });
  }
  const created = data.ApproximateCreationDateTime;
  const commitTime = created instanceof Date ? created.getTime() : typeof created === "number" ? (created as number) * 1000 : undefined;
  const base = commitTime === undefined ? { position } : { position, commitTime };
  switch (record.eventName) {
    case "INSERT": {
      const image = requireImage(data.NewImage, "NewImage", position, model.base);
      out.push({ op: "insert", table: model.route(image), after: model.toRow(image), ...base });
      return;
    }
    case "MODIFY": {
      const image = requireImage(data.NewImage, "NewImage", position, model.base);
      const old = data.OldImage;
      const table = model.route(image);
      const oldTable = old === undefined ? table : model.route(old);
      if (oldTable !== table) {
        out.push({ op: "delete", table: oldTable, key: model.toKeyRow(keys), before: model.toRow(old as AttributeMap), ...base });
        out.push({ op: "insert", table, after: model.toRow(image), ...base });
        return;
      }
      out.push({
        op: "update",
        table,
        key: model.toKeyRow(keys),
        ...(old === undefined ? {} : { before: model.toRow(old) }),
        after: model.toRow(image),
        ...base,
      });
      return;
    }
    case "REMOVE": {
      const old = data.OldImage;
      const event: DynamoDbDeleteEvent = {
        op: "delete",
        table: model.route(old ?? keys),
        key: model.toKeyRow(keys),
        ...(old === undefined ? {} : { before: model.toRow(old) }),
        ...base,
        ...(record.userIdentity?.principalId === TTL_PRINCIPAL ? { expired: true as const } : {}),
      };
      out.push(event);
      return;
    }
    default:
      throw new ZeroEtlError(`dynamodb stream record at ${position} of table ${model.base.name} has unknown eventName`, { code: "source-failed" });
  }
}

function requireImage(image: AttributeMap | undefined, name: string, position: string, table: TableRef): AttributeMap {
  if (image !== undefined) return image;
  throw new ZeroEtlError(
    `dynamodb stream record at ${position} of table ${table.name} has no ${name}: the stream must use StreamViewType NEW_AND_OLD_IMAGES`,
    { code: "preflight-failed" },
  );
}

/**
 * The event of a record {@link decodeChangeRecord} rejected, for the
 * dead-letter queue: its operation, table (routed by its keys), position and
 * key columns only (`after` holds just the key for an insert or update).
 */
export function undecodableRecordEvent(record: DynamoDbChangeRecord, options: { readonly model: DynamoDbTableModel; readonly position: string }): ChangeEvent {
  const { model, position } = options;
  const keys = record.dynamodb?.Keys ?? {};
  const table = model.route(keys);
  const key = model.toKeyRow(keys);
  switch (record.eventName) {
    case "INSERT":
      return { op: "insert", table, position, after: key };
    case "REMOVE":
      return { op: "delete", table, position, key };
    default:
      return { op: "update", table, position, key, after: key };
  }
}
