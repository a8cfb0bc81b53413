import { ZeroEtlError } from "@zero-etl/core";

/**
 * A manifest list, manifest, data or delete file that table metadata names is
 * gone. Usually the metadata read was stale and snapshot expiry (`zeroetl
 * maintain`) removed files only older snapshots used: reload the table and
 * retry. If the freshly loaded table still names a missing file, the table is
 * damaged and the error stands.
 */
export class MissingTableFileError extends ZeroEtlError {
  constructor(what: string, location: string) {
    super(`${what} ${location} is missing`, { code: "sink-failed" });
    this.name = "MissingTableFileError";
  }
}
