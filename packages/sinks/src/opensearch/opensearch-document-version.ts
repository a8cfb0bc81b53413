/** Largest external version OpenSearch takes (a Java long). */
const MAX_VERSION = (1n << 63n) - 1n;
const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const BINLOG = /^[^:@]*?\.(\d{1,9}):(\d{1,10})(?:@.*)?$/;

/**
 * The external document version of a source position, or undefined when
 * the position has no order that fits a 64-bit version:
 * - a PostgreSQL LSN `X/Y` is the 64-bit WAL offset itself;
 * - a MySQL binlog position `name.NNNNNN:offset[@gtid]` is the file's sequence
 *   number times 2^32 plus the offset (a binlog file stays under 4 GiB), so
 *   rotating to the next file still increases it.
 * DynamoDB sequence numbers have up to 40 digits and are ordered only within
 * a shard: they give no version.
 */
export function documentVersionOf(position: string): bigint | undefined {
  const lsn = LSN.exec(position);
  if (lsn !== null) return (BigInt(`0x${lsn[1] ?? "0"}`) << 32n) | BigInt(`0x${lsn[2] ?? "0"}`);
  const binlog = BINLOG.exec(position);
  if (binlog !== null) {
    const offset = BigInt(binlog[2] ?? "0");
    if (offset >= 1n << 32n) return undefined;
    const version = (BigInt(binlog[1] ?? "0") << 32n) | offset;
    return version <= MAX_VERSION ? version : undefined;
  }
  return undefined;
}
