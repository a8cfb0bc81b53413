import type { PositionCodec } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/**
 * Where an Oracle stream stands.
 *
 * - `committed`: every transaction that committed at or before this SCN has
 *   been delivered (or touched no selected table), except those committing
 *   exactly at `committed` that are not listed in `xids`.
 * - `xids`: the transactions committed exactly at `committed` that were
 *   delivered (several can share a commit SCN).
 * - `open`: the first SCN of the oldest transaction still open at that point
 *   (its changes are buffered, not delivered); absent when none was open.
 *
 * A restart mines from `min(open, committed)` and skips every transaction
 * the position says was delivered, so it neither loses nor repeats one.
 */
export interface OraclePosition {
  readonly committed: bigint;
  readonly open?: bigint;
  readonly xids?: readonly string[];
}

/** The SCN a restart from `position` mines from (inclusive). */
export function resumeScn(position: OraclePosition): bigint {
  return position.open !== undefined && position.open < position.committed ? position.open : position.committed;
}

/** Whether a transaction committed at `commitScn` with id `xid` was delivered before `position`. */
export function isDeliveredBefore(position: OraclePosition, commitScn: bigint, xid: string): boolean {
  if (commitScn < position.committed) return true;
  if (commitScn > position.committed) return false;
  return position.xids?.includes(xid) === true;
}

const SCN = /^\d{1,20}$/;
const XID = /^[0-9A-F]{1,64}$/;

function invalid(serialized: string): ZeroEtlError {
  return new ZeroEtlError(`not an oracle position (expected <scn>[;open=<scn>][;xids=<xid>,...]): ${JSON.stringify(serialized.slice(0, 200))}`, { code: "position-invalid" });
}

/**
 * Text form `<committed>[;open=<scn>][;xids=<xid>,<xid>]`, e.g.
 * `1234567;open=1234500;xids=0A001F00B2030000`. Positions compare by
 * `committed`, then by how many transactions at that SCN were delivered;
 * `open` does not take part (it only says where a restart mines from).
 */
export const oraclePositionCodec: PositionCodec<OraclePosition> = {
  parse(serialized: string): OraclePosition {
    const [head, ...parts] = serialized.split(";");
    if (head === undefined || !SCN.test(head)) throw invalid(serialized);
    let open: bigint | undefined;
    let xids: string[] | undefined;
    for (const part of parts) {
      if (part.startsWith("open=") && open === undefined && SCN.test(part.slice(5))) open = BigInt(part.slice(5));
      else if (part.startsWith("xids=") && xids === undefined) {
        xids = part.slice(5).split(",");
        if (!xids.every((x) => XID.test(x))) throw invalid(serialized);
      } else throw invalid(serialized);
    }
    return Object.freeze({ committed: BigInt(head), ...(open === undefined ? {} : { open }), ...(xids === undefined ? {} : { xids: Object.freeze(xids) }) });
  },
  serialize(position: OraclePosition): string {
    let text = position.committed.toString();
    if (position.open !== undefined) text += `;open=${position.open}`;
    if (position.xids !== undefined && position.xids.length > 0) text += `;xids=${position.xids.join(",")}`;
    return text;
  },
  compare(a: OraclePosition, b: OraclePosition): number {
    if (a.committed !== b.committed) return a.committed < b.committed ? -1 : 1;
    return (a.xids?.length ?? 0) - (b.xids?.length ?? 0);
  },
};
