import type { S3Client } from "@aws-sdk/client-s3";
import { ZeroEtlError } from "@zero-etl/core";
import type { RedshiftStagingOptions } from "./redshift-sink-config.js";

/** The staging bucket operations the sink needs. Locations are `s3://bucket/key`. */
export interface RedshiftStager {
  /** Writes a staged file (SSE-KMS when a key is configured) and returns its `s3://` location. */
  put(key: string, body: Uint8Array): Promise<string>;
  /** Every object location under a key prefix. */
  list(prefix: string): Promise<string[]>;
  /** Removes objects; a missing object is not an error. */
  delete(locations: readonly string[]): Promise<void>;
  close(): void;
}

/**
 * A {@link RedshiftStager} on S3 through `@aws-sdk/client-s3`, loaded only
 * when used; credentials come from the SDK's default chain. The SDK retries
 * throttling and network errors (5 attempts).
 */
export async function createRedshiftS3Stager(options: RedshiftStagingOptions & { readonly bucket: string }): Promise<RedshiftStager> {
  const sdk = await import("@aws-sdk/client-s3");
  const client: S3Client = new sdk.S3Client({
    region: options.region ?? "us-east-1",
    maxAttempts: 5,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, forcePathStyle: options.forcePathStyle ?? true }),
  });
  const bucket = options.bucket;
  const wrap = (op: string, what: string, error: unknown): ZeroEtlError =>
    new ZeroEtlError(`redshift staging: s3 ${op} of ${what} failed`, { code: "sink-failed", retryable: true, cause: error });
  return {
    async put(key, body) {
      try {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ...(options.kmsKeyId === undefined ? {} : { ServerSideEncryption: "aws:kms", SSEKMSKeyId: options.kmsKeyId }),
          }),
        );
      } catch (error) {
        throw wrap("put", `s3://${bucket}/${key}`, error);
      }
      return `s3://${bucket}/${key}`;
    },
    async list(prefix) {
      const out: string[] = [];
      let token: string | undefined;
      try {
        do {
          const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
          for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push(`s3://${bucket}/${o.Key}`);
          token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (error) {
        throw wrap("list", `s3://${bucket}/${prefix}`, error);
      }
      return out;
    },
    async delete(locations) {
      const prefix = `s3://${bucket}/`;
      await Promise.all(
        locations.map(async (location) => {
          if (!location.startsWith(prefix)) return;
          try {
            await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: location.slice(prefix.length) }));
          } catch (error) {
            throw wrap("delete", location, error);
          }
        }),
      );
    },
    close() {
      client.destroy();
    },
  };
}
