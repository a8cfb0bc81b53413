import type { S3Client } from "@aws-sdk/client-s3";
import { ZeroEtlError } from "@zero-etl/core";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { ObjectEntry, ObjectStore } from "./object-store.js";

/** Connection settings of the S3 store; credentials fall back to the SDK's default chain. */
export interface S3StoreOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Objects larger than this go up as multipart uploads; default 16 MiB. */
  readonly multipartThresholdBytes?: number;
}

const PART_SIZE = 8 * 1024 * 1024;

function parseS3(location: string): { bucket: string; key: string } {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (m === null) throw new ZeroEtlError(`not an s3 location: ${location}`, { code: "config-invalid" });
  return { bucket: m[1] ?? "", key: m[2] ?? "" };
}

/**
 * An {@link ObjectStore} on S3 (or an S3-compatible server) through
 * `@aws-sdk/client-s3`, loaded only when used. Uploads above the threshold are
 * multipart; the SDK retries throttling and network errors (5 attempts).
 */
export async function createS3ObjectStore(options: S3StoreOptions): Promise<ObjectStore> {
  const sdk = await import("@aws-sdk/client-s3");
  const client: S3Client = new sdk.S3Client({
    region: options.region ?? "us-east-1",
    maxAttempts: 5,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
    ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
  });
  const threshold = options.multipartThresholdBytes ?? 16 * 1024 * 1024;
  const wrap = (op: string, location: string, error: unknown): ZeroEtlError =>
    new ZeroEtlError(`s3 ${op} of ${location} failed`, { code: "sink-failed", retryable: true, cause: error });

  const listEntries = async (prefix: string): Promise<ObjectEntry[]> => {
    const { bucket, key } = parseS3(prefix);
    const out: ObjectEntry[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: key, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        for (const o of page.Contents ?? []) {
          if (o.Key !== undefined) out.push({ location: `s3://${bucket}/${o.Key}`, modifiedMs: o.LastModified?.getTime() ?? Date.now() });
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw wrap("list", prefix, error);
    }
    return out.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  };
  return {
    async put(location, body, putOptions) {
      const { bucket, key } = parseS3(location);
      try {
        if (body.byteLength <= threshold || putOptions?.exclusive === true) {
          await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(putOptions?.exclusive === true ? { IfNoneMatch: "*" } : {}) }));
          return;
        }
        const started = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
        const uploadId = started.UploadId;
        try {
          const parts: { ETag: string; PartNumber: number }[] = [];
          for (let offset = 0, n = 1; offset < body.byteLength; offset += PART_SIZE, n++) {
            const part = await client.send(
              new sdk.UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body.subarray(offset, Math.min(offset + PART_SIZE, body.byteLength)) }),
            );
            parts.push({ ETag: part.ETag ?? "", PartNumber: n });
          }
          await client.send(new sdk.CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
        } catch (error) {
          await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
          throw error;
        }
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 412 || status === 409) throw new CommitConflictError(`${location} already exists`, error);
        throw wrap("put", location, error);
      }
    },
    async get(location) {
      const { bucket, key } = parseS3(location);
      try {
        const out = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body === undefined ? new Uint8Array() : await out.Body.transformToByteArray();
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === "NoSuchKey" || name === "NotFound") return undefined;
        throw wrap("get", location, error);
      }
    },
    async list(prefix) {
      return (await listEntries(prefix)).map((e) => e.location);
    },
    listEntries,
    async delete(location) {
      const { bucket, key } = parseS3(location);
      try {
        await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        throw wrap("delete", location, error);
      }
    },
  };
}
