import { ZeroEtlError, silentLogger, tableKey } from "@zero-etl/core";
import type { ChangeBatch, IncrementalSnapshotSource, PreflightReport, SnapshotChunk, SnapshotSession, Source, SourceCapabilities, TableRef, TableSchema } from "@zero-etl/core";
import type { DynamoDbApi, DynamoDbStreamsApi, S3ObjectApi } from "./dynamodb-api.js";
import { createSdkDynamoDbApi, createSdkDynamoDbStreamsApi, createSdkS3ObjectApi } from "./dynamodb-api.js";
import { errorName, isThrottlingError, sleep } from "./dynamodb-backoff.js";
import { createChunkBuilder } from "./dynamodb-chunk-builder.js";
import { readScanChunk } from "./dynamodb-chunk-reader.js";
import { DynamoDbMarkerGate } from "./dynamodb-marker-gate.js";
import { createDynamoDbExportReader } from "./dynamodb-export-reader.js";
import { runDynamoDbPreflight } from "./dynamodb-preflight.js";
import { scanSnapshot } from "./dynamodb-scan-snapshot.js";
import type { DynamoDbSourceOptions } from "./dynamodb-source-options.js";
import { validateDynamoDbSourceOptions } from "./dynamodb-source-options.js";
import { dynamoDbPositionCodec } from "./dynamodb-stream-position.js";
import { describeShardGraph, readDynamoDbStream } from "./dynamodb-stream-reader.js";
import type { DynamoDbKeyAttribute, DynamoDbTableModel } from "./dynamodb-table-model.js";
import { createDynamoDbTableModel } from "./dynamodb-table-model.js";

interface Apis {
  readonly dynamodb: DynamoDbApi;
  readonly streams: DynamoDbStreamsApi;
  readonly destroy: (() => void)[];
}

/**
 * Creates the DynamoDB source: a parallel Scan (or an S3 export) for the
 * initial snapshot, DynamoDB Streams (NEW_AND_OLD_IMAGES) for changes.
 *
 * Rows use the "document" layout: the key attributes as typed columns and
 * one `json` column (`item`) holding the whole item as exact JSON text.
 * Positions are per-shard sequence-number maps ({@link dynamoDbPositionCodec}).
 * The snapshot's position is "everything the stream holds" (TRIM_HORIZON of
 * every shard), taken before the scan starts, so every change made during
 * the scan is replayed afterwards; replays are harmless because sinks apply
 * idempotently by key. `acknowledge` is a no-op: DynamoDB Streams keeps
 * records for 24 hours whatever the reader does.
 */
export function createDynamoDbSource(input: DynamoDbSourceOptions): Source {
  const options = validateDynamoDbSourceOptions(input);
  const logger = (options.logger ?? silentLogger).child({ source: "dynamodb", table: options.table, pipeline: options.pipeline });
  const connection = {
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  let apis: Promise<Apis> | undefined;
  let s3: Promise<S3ObjectApi> | undefined;
  let model: Promise<DynamoDbTableModel> | undefined;
  const destroyers: (() => void)[] = [];
  // incremental-snapshot watermarks: placed in this process's stream by its reader (DynamoDB has no way to write them into the stream)
  const markers = new DynamoDbMarkerGate();

  const getApis = () =>
    (apis ??= (async () => {
      const injected = options.clients;
      const dynamodb: DynamoDbApi = injected?.dynamodb ?? track(await createSdkDynamoDbApi(connection));
      const streams: DynamoDbStreamsApi = injected?.streams ?? track(await createSdkDynamoDbStreamsApi(connection));
      return { dynamodb, streams, destroy: destroyers };
    })());
  function track<T extends { destroy(): void }>(client: T): T {
    destroyers.push(() => client.destroy());
    return client;
  }
  const getS3 = () =>
    (s3 ??= (async () => {
      if (options.clients?.s3 !== undefined) return options.clients.s3;
      const conf = options.snapshot?.export?.s3;
      return track(
        await createSdkS3ObjectApi({
          ...connection,
          ...(conf?.region === undefined ? {} : { region: conf.region }),
          ...(conf?.endpoint === undefined ? {} : { endpoint: conf.endpoint }),
          ...(conf?.forcePathStyle === undefined ? {} : { forcePathStyle: conf.forcePathStyle }),
        }),
      );
    })());

  const describeTable = async (signal?: AbortSignal) => {
    const { dynamodb } = await getApis();
    try {
      const table = (await dynamodb.describeTable({ TableName: options.table }, signal)).Table;
      if (table === undefined) throw new Error("DescribeTable returned no table");
      return table;
    } catch (cause) {
      throw new ZeroEtlError(`dynamodb DescribeTable failed for table ${options.table} (${errorName(cause)})`, {
        code: errorName(cause) === "ResourceNotFoundException" ? "config-invalid" : "connection-failed",
        retryable: isThrottlingError(cause) || errorName(cause) === "NetworkingError",
        cause,
        table: options.table,
      });
    }
  };

  const getModel = (signal?: AbortSignal) =>
    (model ??= (async () => {
      const table = await describeTable(signal);
      const typeOf = (name: string): DynamoDbKeyAttribute["type"] => {
        const t = table.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
        if (t !== "S" && t !== "N" && t !== "B") throw new ZeroEtlError(`dynamodb table ${options.table} key ${name} has no scalar type`, { code: "schema-unsupported" });
        return t;
      };
      const hash = table.KeySchema?.find((k) => k.KeyType === "HASH")?.AttributeName;
      const range = table.KeySchema?.find((k) => k.KeyType === "RANGE")?.AttributeName;
      if (hash === undefined) throw new ZeroEtlError(`dynamodb table ${options.table} has no partition key`, { code: "schema-unsupported" });
      return createDynamoDbTableModel({
        namespace: options.namespace ?? options.region,
        table: options.table,
        partitionKey: { name: hash, type: typeOf(hash) },
        ...(range === undefined ? {} : { sortKey: { name: range, type: typeOf(range) } }),
        ...(options.routing === undefined ? {} : { routing: options.routing }),
        ...(options.documentColumn === undefined ? {} : { documentColumn: options.documentColumn }),
      });
    })().catch((error: unknown) => {
      model = undefined;
      throw error;
    }));

  const selected = (tables: readonly TableRef[] | undefined) => {
    const wanted = tables === undefined ? undefined : new Set(tables.map(tableKey));
    return (ref: TableRef) => (wanted === undefined || wanted.has(tableKey(ref))) && (options.include === undefined || options.include(ref));
  };

  async function* exportChunks(m: DynamoDbTableModel, streamCapturedAt: number, signal?: AbortSignal): AsyncGenerator<SnapshotChunk> {
    const exp = options.snapshot?.export;
    if (exp === undefined) throw new ZeroEtlError("dynamodb export snapshot needs source.snapshot.export", { code: "config-invalid" });
    const { dynamodb } = await getApis();
    let manifestKey = exp.manifestSummaryKey;
    if (manifestKey === undefined) {
      const table = await describeTable(signal);
      const started = await dynamodb.exportTableToPointInTime(
        {
          TableArn: table.TableArn,
          S3Bucket: exp.bucket,
          ExportFormat: "DYNAMODB_JSON",
          ExportTime: new Date(streamCapturedAt),
          ...(exp.prefix === undefined ? {} : { S3Prefix: exp.prefix }),
          ...(exp.bucketOwner === undefined ? {} : { S3BucketOwner: exp.bucketOwner }),
        },
        signal,
      );
      const arn = started.ExportDescription?.ExportArn;
      logger.info("dynamodb export requested", { exportArn: arn ?? null });
      for (;;) {
        const d = (await dynamodb.describeExport({ ExportArn: arn }, signal)).ExportDescription;
        if (d?.ExportStatus === "COMPLETED") {
          manifestKey = d.ExportManifest;
          break;
        }
        if (d?.ExportStatus === "FAILED") {
          throw new ZeroEtlError(`dynamodb export of ${options.table} failed (${d.FailureCode ?? "unknown failure"})`, { code: "source-failed", table: options.table });
        }
        await sleep(exp.pollIntervalMs ?? 10_000, signal);
      }
      if (manifestKey === undefined) throw new ZeroEtlError(`dynamodb export of ${options.table} completed without a manifest`, { code: "source-failed" });
    }
    const reader = createDynamoDbExportReader({ s3: await getS3(), bucket: exp.bucket, manifestSummaryKey: manifestKey, ...(signal === undefined ? {} : { signal }) });
    const { summary } = await reader.manifest();
    const builder = createChunkBuilder(m, options.snapshot?.chunkSize ?? 1000, summary.itemCount);
    for await (const page of reader.items()) {
      for (const item of page) {
        const chunk = builder.add(item);
        if (chunk !== undefined) yield chunk;
      }
    }
    yield* builder.finish();
  }

  const incremental: IncrementalSnapshotSource = {
    inProcessMarkers: true,
    emitMarker: (content, signal) => markers.emit(content, signal),
    async readChunk(chunkOptions) {
      const { dynamodb } = await getApis();
      const m = await getModel(chunkOptions.signal);
      return readScanChunk({ api: dynamodb, table: options.table, model: m }, chunkOptions);
    },
    async estimateRows(schema, signal) {
      const m = await getModel(signal);
      // ItemCount counts every item of the base table (DynamoDB refreshes it about every six hours): no estimate for one routed entity
      if (m.routed) return undefined;
      return (await describeTable(signal)).ItemCount;
    },
  };

  const capabilities: SourceCapabilities = Object.freeze({
    beforeImage: "always",
    transactions: false,
    schemaChanges: options.routing !== undefined,
    truncate: false,
  });

  return {
    kind: "dynamodb",
    capabilities,
    positions: dynamoDbPositionCodec,
    incremental,

    async introspect(signal) {
      const m = await getModel(signal);
      const keep = selected(undefined);
      return m.declared.filter(keep).map((t) => m.schemaFor(t));
    },

    async preflight(preflightOptions): Promise<PreflightReport> {
      const { dynamodb, streams } = await getApis();
      return runDynamoDbPreflight({
        api: dynamodb,
        streams,
        table: options.table,
        fix: preflightOptions.fix,
        exportSnapshot: options.snapshot?.mode === "export",
        ...(preflightOptions.signal === undefined ? {} : { signal: preflightOptions.signal }),
      });
    },

    async snapshot(snapshotOptions): Promise<SnapshotSession> {
      const signal = snapshotOptions.signal;
      const m = await getModel(signal);
      const table = await describeTable(signal);
      const streamArn = table.StreamSpecification?.StreamEnabled === true ? table.LatestStreamArn : undefined;
      if (streamArn === undefined) {
        throw new ZeroEtlError(`dynamodb table ${options.table} has no stream: enable DynamoDB Streams with NEW_AND_OLD_IMAGES (check --fix)`, {
          code: "preflight-failed",
          table: options.table,
        });
      }
      // the stream must be readable before the scan starts, so no change made during the scan can fall outside it
      const { streams, dynamodb } = await getApis();
      const shards = await describeShardGraph(streams, streamArn, signal);
      const capturedAt = Date.now();
      const position = dynamoDbPositionCodec.serialize({ streamArn, shards: {}, closed: [] });
      logger.info("dynamodb snapshot position taken", { streamArn, shards: shards.length });
      const keep = selected(snapshotOptions.tables);
      const snap = options.snapshot;
      // a snapshot of no table (the start of an incremental snapshot) reads nothing: only its position is wanted
      const source: AsyncIterable<SnapshotChunk> =
        snapshotOptions.tables?.length === 0
          ? noChunks()
          : snap?.mode === "export"
          ? exportChunks(m, capturedAt, signal)
          : scanSnapshot({
              api: dynamodb,
              table: options.table,
              model: m,
              logger,
              ...(snap?.segments === undefined ? {} : { segments: snap.segments }),
              ...(snap?.capacityShare === undefined ? {} : { capacityShare: snap.capacityShare }),
              ...(snap?.readUnitsPerSecond === undefined ? {} : { readUnitsPerSecond: snap.readUnitsPerSecond }),
              ...(snap?.chunkSize === undefined ? {} : { chunkSize: snap.chunkSize }),
              ...(snap?.pageSize === undefined ? {} : { pageSize: snap.pageSize }),
              ...(signal === undefined ? {} : { signal }),
            });
      const schemas: TableSchema[] = m.declared.filter(keep).map((t) => m.schemaFor(t));
      const known = new Set(schemas.map((schema) => tableKey(schema.table)));
      async function* filtered(): AsyncGenerator<SnapshotChunk> {
        for await (const chunk of source) {
          if (!keep(chunk.table)) continue;
          const key = tableKey(chunk.table);
          if (!known.has(key)) {
            known.add(key);
            logger.warn("dynamodb routing found an entity not listed in routing.entities; its table is not among the snapshot schemas", { table: key });
          }
          yield chunk;
        }
      }
      return { position, schemas, chunks: filtered() };
    },

    stream(from, streamOptions): AsyncIterable<ChangeBatch> {
      const position = dynamoDbPositionCodec.parse(from);
      if (position.streamArn === "") {
        throw new ZeroEtlError("dynamodb stream position has no stream ARN: resume from a checkpoint, not an event position", { code: "position-invalid" });
      }
      const keep = selected(undefined);
      return (async function* () {
        const { streams } = await getApis();
        const m = await getModel(streamOptions.signal);
        const table = await describeTable(streamOptions.signal);
        if (table.StreamSpecification?.StreamEnabled !== true) {
          throw new ZeroEtlError(`dynamodb table ${options.table} has no enabled stream: changes are not being captured`, { code: "preflight-failed", table: options.table });
        }
        assertNewImages(options.table, table.StreamSpecification.StreamViewType);
        if (table.LatestStreamArn !== position.streamArn) {
          // the stream was disabled and enabled again: writes in between were never captured
          throw new ZeroEtlError(`dynamodb table ${options.table} has a new stream since the checkpoint was taken: re-snapshot the table`, {
            code: "position-lost",
            table: options.table,
          });
        }
        for await (const batch of readDynamoDbStream({
          api: streams,
          model: m,
          from: position,
          logger,
          ...(options.stream?.idleDelayMs === undefined ? {} : { idleDelayMs: options.stream.idleDelayMs }),
          ...(options.stream?.limit === undefined ? {} : { limit: options.stream.limit }),
          ...(streamOptions.signal === undefined ? {} : { signal: streamOptions.signal }),
          markers,
        })) {
          if (options.include === undefined || batch.events.every((e) => keep(e.table))) yield batch;
          else yield { ...batch, events: batch.events.filter((e) => keep(e.table)) };
        }
      })();
    },

    async acknowledge() {
      // DynamoDB Streams keeps records 24 h regardless of readers; there is nothing to release
    },

    async currentPosition() {
      const table = await describeTable();
      return dynamoDbPositionCodec.serialize({ streamArn: table.LatestStreamArn ?? "", shards: {}, closed: [], latestAt: Date.now() });
    },

    async close() {
      markers.close();
      for (const destroy of destroyers.splice(0)) destroy();
      apis = undefined;
      s3 = undefined;
    },
  };
}

async function* noChunks(): AsyncGenerator<SnapshotChunk> {
  // nothing to yield
}

/**
 * The stream must carry new images: the source writes each change's item
 * whole, and an incremental snapshot's merge relies on that (a change in a
 * chunk's window replaces the chunk's row). KEYS_ONLY and OLD_IMAGE streams
 * are refused, naming the setting.
 */
function assertNewImages(table: string, viewType: string | undefined): void {
  if (viewType === "NEW_IMAGE" || viewType === "NEW_AND_OLD_IMAGES") return;
  throw new ZeroEtlError(
    `dynamodb table ${table} has a stream with StreamViewType ${viewType ?? "unknown"}: the source needs the new image of every change; disable the stream and enable it again with StreamViewType NEW_AND_OLD_IMAGES, then re-snapshot`,
    { code: "preflight-failed", table },
  );
}
