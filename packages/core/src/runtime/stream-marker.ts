import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * What the runtime writes through `IncrementalSnapshotSource.emitMarker`:
 * the low and high watermarks of a chunk, and signals (a resync asked of a
 * running pipeline). Markers of other pipelines reading the same source are
 * told apart by `pipeline` and ignored; so are watermarks of an earlier run
 * (their `id` is unknown).
 */
export type MarkerContent =
  | { readonly pipeline: string; readonly kind: "low" | "high"; readonly id: string }
  | { readonly pipeline: string; readonly kind: "resync"; readonly tables: readonly string[] };

/** What {@link decodeMarker} made of a marker's text. */
export type DecodedMarker =
  /** A marker of this pipeline whose MAC the key verified. */
  | { readonly verified: true; readonly content: MarkerContent }
  /**
   * Names this pipeline but its MAC is missing or wrong: written by someone
   * without the pipeline's key (any role that may call
   * `pg_logical_emit_message`, or insert into the marker table). Never acted on.
   */
  | { readonly verified: false; readonly kind: string };

/** Bytes of a marker key ({@link encodeMarker}); a key file holds them as hex. */
export const MARKER_KEY_BYTES = 32;

const MAC_FIELD = ',"mac":"';
/** The MAC's hex length: HMAC-SHA256. */
const MAC_HEX = 64;
/** Binds a MAC to its use: the same key must never authenticate anything else under another meaning. */
const MAC_DOMAIN = "zeroetl-marker-v1\n";

/**
 * Serializes a marker as JSON (so that a person reading the source's log can
 * read it too) with a `mac` field last: HMAC-SHA256, under the pipeline's
 * marker key, of the exact JSON text before it. The running pipeline obeys
 * only markers whose MAC its key verifies ({@link decodeMarker}).
 */
export function encodeMarker(content: MarkerContent, key: Uint8Array): string {
  const body = content.kind === "resync" ? JSON.stringify({ pipeline: content.pipeline, kind: content.kind, tables: content.tables }) : JSON.stringify({ pipeline: content.pipeline, kind: content.kind, id: content.id });
  return `${body.slice(0, -1)}${MAC_FIELD}${macOf(body, key)}"}`;
}

/**
 * Parses a marker of `pipeline` and verifies its MAC with `key`: undefined
 * for anything that is not a marker of this pipeline (another pipeline's, or
 * not one of ours), `verified: false` for one that names this pipeline but
 * was not written with its key.
 */
export function decodeMarker(text: string, pipeline: string, key: Uint8Array): DecodedMarker | undefined {
  const value = parseObject(text);
  if (value === undefined || value["pipeline"] !== pipeline) return undefined;
  const kindField = value["kind"];
  const kind = typeof kindField === "string" ? kindField.slice(0, 16) : typeof kindField;
  const macAt = text.length - MAC_HEX - 2 - MAC_FIELD.length;
  const mac = text.slice(macAt + MAC_FIELD.length, text.length - 2);
  if (macAt <= 0 || text.slice(macAt, macAt + MAC_FIELD.length) !== MAC_FIELD || !text.endsWith('"}') || !/^[0-9a-f]{64}$/.test(mac)) return { verified: false, kind };
  const body = `${text.slice(0, macAt)}}`;
  if (!timingSafeEqual(Buffer.from(mac, "hex"), Buffer.from(macOf(body, key), "hex"))) return { verified: false, kind };
  // the MAC covers the body: parse exactly what was signed
  const signed = parseObject(body);
  if (signed === undefined || signed["pipeline"] !== pipeline) return { verified: false, kind };
  const signedKind = signed["kind"];
  if ((signedKind === "low" || signedKind === "high") && typeof signed["id"] === "string") return { verified: true, content: { pipeline, kind: signedKind, id: signed["id"] } };
  const tables = signed["tables"];
  if (signedKind === "resync" && Array.isArray(tables) && tables.every((t) => typeof t === "string")) return { verified: true, content: { pipeline, kind: signedKind, tables: tables as string[] } };
  return { verified: false, kind };
}

function macOf(body: string, key: Uint8Array): string {
  return createHmac("sha256", key).update(MAC_DOMAIN).update(body, "utf8").digest("hex");
}

function parseObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  return parsed as Record<string, unknown>;
}
