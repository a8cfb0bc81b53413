/**
 * The replay guard for clusters without external versioning (Amazon
 * OpenSearch Serverless): the source position's version is stored in the
 * document itself, in {@link VERSION_FIELD}, and every versioned write is a
 * scripted `update` that compares it with the stored one first. An older
 * write than the document holds becomes a no-op, so a replay or a retried
 * older write can never take a document back.
 *
 * A delete removes the document (its stored version goes with it): an older
 * insert replayed after it re-creates the row until the replayed delete that
 * follows it in the same replay, as with external versions once
 * `index.gc_deletes` has passed.
 */

/** The document field holding the version of the write that produced it. */
export const VERSION_FIELD = "zeroetl_version";

/** Indexes `params.doc` unless the document holds a newer version; a missing document is created (`scripted_upsert`). */
const WRITE_SCRIPT = `def v = ctx._source.${VERSION_FIELD}; if (v != null && v > params.v) { ctx.op = 'none' } else { ctx._source = params.doc }`;
/** Deletes the document unless it holds a newer version. */
const DELETE_SCRIPT = `def v = ctx._source.${VERSION_FIELD}; if (v != null && v > params.v) { ctx.op = 'none' } else { ctx.op = 'delete' }`;

/** The action and body lines of a guarded index of `document` (a JSON object text) at `version`. */
export function guardedIndex(index: string, id: string, version: bigint, document: string): { action: string; document: string } {
  const v = version.toString();
  const withVersion = document === "{}" ? `{"${VERSION_FIELD}":${v}}` : `${document.slice(0, -1)},"${VERSION_FIELD}":${v}}`;
  return {
    action: `{"update":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)},"retry_on_conflict":3}}`,
    document: `{"scripted_upsert":true,"upsert":{},"script":{"lang":"painless","source":${JSON.stringify(WRITE_SCRIPT)},"params":{"v":${v},"doc":${withVersion}}}}`,
  };
}

/** The action and body lines of a guarded delete at `version` (a missing document answers 404 `document_missing_exception`: done). */
export function guardedDelete(index: string, id: string, version: bigint): { action: string; document: string } {
  return {
    action: `{"update":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)},"retry_on_conflict":3}}`,
    document: `{"script":{"lang":"painless","source":${JSON.stringify(DELETE_SCRIPT)},"params":{"v":${version.toString()}}}}`,
  };
}
