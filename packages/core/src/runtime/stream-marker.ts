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

/** Serializes a marker (JSON, so that a person reading the source's log can read it too). */
export function encodeMarker(content: MarkerContent): string {
  return JSON.stringify(content);
}

/** Parses a marker of `pipeline`; undefined for anything else (another pipeline's, or not one of ours). */
export function decodeMarker(text: string, pipeline: string): MarkerContent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const value = parsed as Record<string, unknown>;
  if (value["pipeline"] !== pipeline) return undefined;
  const kind = value["kind"];
  if ((kind === "low" || kind === "high") && typeof value["id"] === "string") return { pipeline, kind, id: value["id"] };
  const tables = value["tables"];
  if (kind === "resync" && Array.isArray(tables) && tables.every((t) => typeof t === "string")) return { pipeline, kind, tables: tables as string[] };
  return undefined;
}
