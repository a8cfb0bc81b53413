import { randomBytes } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import avsc from "avsc";

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const METADATA_TYPE = avsc.Type.forSchema({ type: "map", values: "bytes" });
const LONG_TYPE = avsc.Type.forSchema("long");

/** Options of {@link encodeAvroContainer}. */
export interface EncodeAvroContainerOptions {
  /** The writer schema; extra attributes (`field-id`, `element-id`) are kept in the header. */
  readonly schema: object;
  readonly records: readonly unknown[];
  /** Key-value metadata next to `avro.schema` and `avro.codec`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Encodes records as an Avro object container file (uncompressed, one block)
 * per the Avro 1.11 specification. The schema JSON is written as given, so
 * Iceberg's field-id properties survive.
 */
export function encodeAvroContainer(options: EncodeAvroContainerOptions): Buffer {
  const type = avsc.Type.forSchema(options.schema as avsc.Schema);
  const meta: Record<string, Buffer> = {
    "avro.schema": Buffer.from(JSON.stringify(options.schema)),
    "avro.codec": Buffer.from("null"),
  };
  for (const [k, v] of Object.entries(options.metadata ?? {})) meta[k] = Buffer.from(v);
  const sync = randomBytes(16);
  const parts: Buffer[] = [MAGIC, METADATA_TYPE.toBuffer(meta), sync];
  if (options.records.length > 0) {
    const body = Buffer.concat(options.records.map((r) => type.toBuffer(r)));
    parts.push(LONG_TYPE.toBuffer(options.records.length), LONG_TYPE.toBuffer(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

/** A decoded Avro container: its writer schema, metadata and records. */
export interface DecodedAvroContainer {
  readonly schema: object;
  readonly metadata: Readonly<Record<string, string>>;
  readonly records: readonly unknown[];
}

/** Decodes an Avro object container file (codecs `null` and `deflate`) with its own writer schema. */
export function decodeAvroContainer(bytes: Uint8Array): DecodedAvroContainer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error("not an avro object container file");
  const header = METADATA_TYPE.decode(buf, 4) as { value: Record<string, Buffer>; offset: number };
  let pos = header.offset + 16;
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.value)) metadata[k] = v.toString("utf8");
  const schema = JSON.parse(metadata["avro.schema"] ?? "null") as object;
  const codec = metadata["avro.codec"] ?? "null";
  const type = avsc.Type.forSchema(schema as avsc.Schema);
  const records: unknown[] = [];
  while (pos < buf.length) {
    const count = LONG_TYPE.decode(buf, pos) as { value: number; offset: number };
    const size = LONG_TYPE.decode(buf, count.offset) as { value: number; offset: number };
    let block = buf.subarray(size.offset, size.offset + size.value);
    if (codec === "deflate") block = inflateRawSync(block);
    else if (codec !== "null") throw new Error(`avro codec ${codec} is not supported`);
    let at = 0;
    for (let i = 0; i < count.value; i++) {
      const r = type.decode(block, at) as { value: unknown; offset: number };
      records.push(r.value);
      at = r.offset;
    }
    pos = size.offset + size.value + 16;
  }
  return { schema, metadata, records };
}
