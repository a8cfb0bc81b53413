import type { PreflightCheck, PreflightReport } from "@zero-etl/core";
import type { DynamoDbApi, DynamoDbStreamsApi } from "./dynamodb-api.js";
import { errorName } from "./dynamodb-backoff.js";

/** Options of {@link runDynamoDbPreflight}. */
export interface DynamoDbPreflightOptions {
  readonly api: DynamoDbApi;
  readonly streams: DynamoDbStreamsApi;
  readonly table: string;
  /** Apply safe fixes: enable the stream (NEW_AND_OLD_IMAGES) and PITR. */
  readonly fix: boolean;
  /** Whether the snapshot uses exports, which makes PITR an error rather than a warning. */
  readonly exportSnapshot: boolean;
  readonly signal?: AbortSignal;
}

const DENIED = new Set(["AccessDeniedException", "UnauthorizedOperation", "AccessDenied"]);
const UNSUPPORTED = new Set(["UnknownOperationException", "UnrecognizedClientException"]);

function denied(id: string, action: string, cause: unknown): PreflightCheck {
  const name = errorName(cause);
  if (DENIED.has(name)) {
    return { id, ok: false, severity: "error", message: `${action} was denied (${name})`, remedy: `grant ${action} on the table (and its stream) to the pipeline's IAM principal` };
  }
  return { id, ok: false, severity: "error", message: `${action} failed (${name})`, remedy: "check the endpoint, region and network path to DynamoDB" };
}

/**
 * Checks a table for CDC: it can be described, its stream is enabled with
 * NEW_AND_OLD_IMAGES (fixable with UpdateTable), the stream and Scan are
 * permitted, and point-in-time recovery is on (fixable with
 * UpdateContinuousBackups; an error only for export snapshots). A denied
 * call is reported with the IAM action it needs. Where the endpoint lacks an
 * operation (DynamoDB Local has no continuous backups), the check is a
 * warning saying it cannot be checked.
 */
export async function runDynamoDbPreflight(o: DynamoDbPreflightOptions): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [];
  const report = () => ({ component: `dynamodb:${o.table}`, checks });
  const describe = () => o.api.describeTable({ TableName: o.table }, o.signal);
  let table;
  try {
    table = (await describe()).Table;
    checks.push({ id: "dynamodb.table", ok: true, message: `table ${o.table} is ${table?.TableStatus ?? "present"}` });
  } catch (cause) {
    if (errorName(cause) === "ResourceNotFoundException") {
      checks.push({ id: "dynamodb.table", ok: false, severity: "error", message: `table ${o.table} does not exist in this account and region`, remedy: "check source.table and source.region" });
    } else checks.push(denied("dynamodb.table", "dynamodb:DescribeTable", cause));
    return report();
  }

  const spec = table?.StreamSpecification;
  let streamArn = spec?.StreamEnabled === true ? table?.LatestStreamArn : undefined;
  if (spec?.StreamEnabled === true && spec.StreamViewType === "NEW_AND_OLD_IMAGES") {
    checks.push({ id: "dynamodb.stream", ok: true, message: `stream of ${o.table} is enabled with NEW_AND_OLD_IMAGES` });
  } else if (spec?.StreamEnabled === true) {
    checks.push({
      id: "dynamodb.stream",
      ok: false,
      severity: "error",
      fixable: false,
      message: `stream of ${o.table} uses ${spec.StreamViewType ?? "an unknown view type"}, not NEW_AND_OLD_IMAGES`,
      remedy: "disable the stream and enable it again with NEW_AND_OLD_IMAGES (this gives a new stream ARN; other consumers of the old stream must move), then re-snapshot",
    });
  } else if (!o.fix) {
    checks.push({
      id: "dynamodb.stream",
      ok: false,
      severity: "error",
      fixable: true,
      message: `table ${o.table} has no stream`,
      remedy: "enable DynamoDB Streams with StreamViewType NEW_AND_OLD_IMAGES (check --fix does it)",
    });
  } else {
    try {
      await o.api.updateTable({ TableName: o.table, StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" } }, o.signal);
      streamArn = (await describe()).Table?.LatestStreamArn;
      checks.push({ id: "dynamodb.stream", ok: true, fixable: true, fixed: true, message: `enabled the stream of ${o.table} with NEW_AND_OLD_IMAGES` });
    } catch (cause) {
      checks.push({ ...denied("dynamodb.stream", "dynamodb:UpdateTable", cause), fixable: true, message: `table ${o.table} has no stream and enabling it failed (${errorName(cause)})` });
    }
  }

  if (streamArn !== undefined) {
    try {
      await o.streams.describeStream({ StreamArn: streamArn, Limit: 1 }, o.signal);
      checks.push({ id: "dynamodb.stream-access", ok: true, message: `dynamodb:DescribeStream on the stream of ${o.table} is permitted` });
    } catch (cause) {
      checks.push(denied("dynamodb.stream-access", "dynamodb:DescribeStream", cause));
    }
  }

  if (!o.exportSnapshot) {
    try {
      await o.api.scan({ TableName: o.table, Limit: 1 }, o.signal);
      checks.push({ id: "dynamodb.scan-access", ok: true, message: `dynamodb:Scan on ${o.table} is permitted` });
    } catch (cause) {
      checks.push(denied("dynamodb.scan-access", "dynamodb:Scan", cause));
    }
  }

  const pitrSeverity = o.exportSnapshot ? "error" : "warning";
  try {
    const backups = await o.api.describeContinuousBackups({ TableName: o.table }, o.signal);
    const status = backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
    if (status === "ENABLED") checks.push({ id: "dynamodb.pitr", ok: true, message: `point-in-time recovery of ${o.table} is enabled` });
    else if (o.fix) {
      await o.api.updateContinuousBackups({ TableName: o.table, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }, o.signal);
      checks.push({ id: "dynamodb.pitr", ok: true, fixable: true, fixed: true, message: `enabled point-in-time recovery of ${o.table}` });
    } else {
      checks.push({
        id: "dynamodb.pitr",
        ok: false,
        severity: pitrSeverity,
        fixable: true,
        message: `point-in-time recovery of ${o.table} is ${status ?? "not enabled"}`,
        remedy: "enable point-in-time recovery (needed for export snapshots; check --fix does it)",
      });
    }
  } catch (cause) {
    const name = errorName(cause);
    if (UNSUPPORTED.has(name)) {
      checks.push({ id: "dynamodb.pitr", ok: false, severity: "warning", message: `cannot check point-in-time recovery of ${o.table}: the endpoint does not support it (${name})` });
    } else {
      checks.push({ ...denied("dynamodb.pitr", "dynamodb:DescribeContinuousBackups", cause), severity: pitrSeverity });
    }
  }
  return report();
}
