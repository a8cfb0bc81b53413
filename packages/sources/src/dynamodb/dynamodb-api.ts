import type {
  DescribeContinuousBackupsCommandInput,
  DescribeContinuousBackupsCommandOutput,
  DescribeExportCommandInput,
  DescribeExportCommandOutput,
  DescribeTableCommandInput,
  DescribeTableCommandOutput,
  ExportTableToPointInTimeCommandInput,
  ExportTableToPointInTimeCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  UpdateContinuousBackupsCommandInput,
  UpdateContinuousBackupsCommandOutput,
  UpdateTableCommandInput,
  UpdateTableCommandOutput,
} from "@aws-sdk/client-dynamodb";
import type {
  DescribeStreamCommandInput,
  DescribeStreamCommandOutput,
  GetRecordsCommandInput,
  GetRecordsCommandOutput,
  GetShardIteratorCommandInput,
  GetShardIteratorCommandOutput,
} from "@aws-sdk/client-dynamodb-streams";

/**
 * The slice of the DynamoDB control and data plane the source uses. Inject
 * your own (a wrapper for tests, a client with custom middleware) or let
 * {@link createDynamoDbSource} build one from the SDK.
 */
export interface DynamoDbApi {
  describeTable(input: DescribeTableCommandInput, signal?: AbortSignal): Promise<DescribeTableCommandOutput>;
  scan(input: ScanCommandInput, signal?: AbortSignal): Promise<ScanCommandOutput>;
  updateTable(input: UpdateTableCommandInput, signal?: AbortSignal): Promise<UpdateTableCommandOutput>;
  describeContinuousBackups(input: DescribeContinuousBackupsCommandInput, signal?: AbortSignal): Promise<DescribeContinuousBackupsCommandOutput>;
  updateContinuousBackups(input: UpdateContinuousBackupsCommandInput, signal?: AbortSignal): Promise<UpdateContinuousBackupsCommandOutput>;
  exportTableToPointInTime(input: ExportTableToPointInTimeCommandInput, signal?: AbortSignal): Promise<ExportTableToPointInTimeCommandOutput>;
  describeExport(input: DescribeExportCommandInput, signal?: AbortSignal): Promise<DescribeExportCommandOutput>;
}

/** The slice of DynamoDB Streams the stream reader uses. */
export interface DynamoDbStreamsApi {
  describeStream(input: DescribeStreamCommandInput, signal?: AbortSignal): Promise<DescribeStreamCommandOutput>;
  getShardIterator(input: GetShardIteratorCommandInput, signal?: AbortSignal): Promise<GetShardIteratorCommandOutput>;
  getRecords(input: GetRecordsCommandInput, signal?: AbortSignal): Promise<GetRecordsCommandOutput>;
}

/** The slice of S3 the export reader uses: whole-object reads. */
export interface S3ObjectApi {
  /** The object's bytes; rejects with an error named `NoSuchKey` when it is absent. */
  getObjectBytes(input: { readonly bucket: string; readonly key: string }, signal?: AbortSignal): Promise<Uint8Array>;
}

/** Connection settings shared by the SDK-backed APIs. */
export interface AwsConnection {
  readonly region: string;
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

function clientConfig(connection: AwsConnection): Record<string, unknown> {
  const config: Record<string, unknown> = { region: connection.region };
  if (connection.endpoint !== undefined) config.endpoint = connection.endpoint;
  if (connection.credentials !== undefined) config.credentials = connection.credentials;
  return config;
}

/** Builds {@link DynamoDbApi} on `@aws-sdk/client-dynamodb`, loaded only when called. */
export async function createSdkDynamoDbApi(connection: AwsConnection): Promise<DynamoDbApi & { destroy(): void }> {
  const sdk = await import("@aws-sdk/client-dynamodb");
  const client = new sdk.DynamoDBClient(clientConfig(connection));
  const opts = (signal?: AbortSignal) => (signal === undefined ? {} : { abortSignal: signal });
  return {
    describeTable: (input, signal) => client.send(new sdk.DescribeTableCommand(input), opts(signal)),
    scan: (input, signal) => client.send(new sdk.ScanCommand(input), opts(signal)),
    updateTable: (input, signal) => client.send(new sdk.UpdateTableCommand(input), opts(signal)),
    describeContinuousBackups: (input, signal) => client.send(new sdk.DescribeContinuousBackupsCommand(input), opts(signal)),
    updateContinuousBackups: (input, signal) => client.send(new sdk.UpdateContinuousBackupsCommand(input), opts(signal)),
    exportTableToPointInTime: (input, signal) => client.send(new sdk.ExportTableToPointInTimeCommand(input), opts(signal)),
    describeExport: (input, signal) => client.send(new sdk.DescribeExportCommand(input), opts(signal)),
    destroy: () => client.destroy(),
  };
}

/** Builds {@link DynamoDbStreamsApi} on `@aws-sdk/client-dynamodb-streams`, loaded only when called. */
export async function createSdkDynamoDbStreamsApi(connection: AwsConnection): Promise<DynamoDbStreamsApi & { destroy(): void }> {
  const sdk = await import("@aws-sdk/client-dynamodb-streams");
  const client = new sdk.DynamoDBStreamsClient(clientConfig(connection));
  const opts = (signal?: AbortSignal) => (signal === undefined ? {} : { abortSignal: signal });
  return {
    describeStream: (input, signal) => client.send(new sdk.DescribeStreamCommand(input), opts(signal)),
    getShardIterator: (input, signal) => client.send(new sdk.GetShardIteratorCommand(input), opts(signal)),
    getRecords: (input, signal) => client.send(new sdk.GetRecordsCommand(input), opts(signal)),
    destroy: () => client.destroy(),
  };
}

/** Builds {@link S3ObjectApi} on `@aws-sdk/client-s3`, loaded only when called. */
export async function createSdkS3ObjectApi(
  connection: AwsConnection & { readonly forcePathStyle?: boolean },
): Promise<S3ObjectApi & { destroy(): void }> {
  const sdk = await import("@aws-sdk/client-s3");
  const config = clientConfig(connection);
  if (connection.forcePathStyle !== undefined) config.forcePathStyle = connection.forcePathStyle;
  const client = new sdk.S3Client(config);
  return {
    async getObjectBytes(input, signal) {
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: input.bucket, Key: input.key }),
        signal === undefined ? {} : { abortSignal: signal },
      );
      if (out.Body === undefined) return new Uint8Array(0);
      return out.Body.transformToByteArray();
    },
    destroy: () => client.destroy(),
  };
}
