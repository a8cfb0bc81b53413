const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const BINLOG = /^(.*)\.(\d{1,9}):(\d{1,20})(?:@.*)?$/;

/**
 * How far `applied` is behind `current` in the source's log, in words:
 * `caught up`, `<n> bytes of WAL` (PostgreSQL LSNs), `<n> bytes of binlog`
 * (MySQL positions in one file) or `<n> binlog files`; `-` for positions
 * without a measurable distance (DynamoDB sequence numbers, one missing).
 */
export function logLag(applied: string | undefined, current: string | undefined): string {
  if (applied === undefined || current === undefined) return "-";
  const a = LSN.exec(applied);
  const c = LSN.exec(current);
  if (a !== null && c !== null) {
    const bytes = ((BigInt(`0x${c[1] ?? "0"}`) << 32n) | BigInt(`0x${c[2] ?? "0"}`)) - ((BigInt(`0x${a[1] ?? "0"}`) << 32n) | BigInt(`0x${a[2] ?? "0"}`));
    return bytes <= 0n ? "caught up" : `${bytes} bytes of WAL`;
  }
  const ab = BINLOG.exec(applied);
  const cb = BINLOG.exec(current);
  if (ab !== null && cb !== null && ab[1] === cb[1]) {
    const files = Number(cb[2]) - Number(ab[2]);
    if (files > 0) return `${files} binlog file${files === 1 ? "" : "s"}`;
    if (files < 0) return "caught up";
    const bytes = BigInt(cb[3] ?? "0") - BigInt(ab[3] ?? "0");
    return bytes <= 0n ? "caught up" : `${bytes} bytes of binlog`;
  }
  return "-";
}
