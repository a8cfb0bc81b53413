import type { PositionCodec } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/**
 * A binlog position: the file, the byte offset of the next event to read in
 * it, and optionally the GTID set executed up to there (MariaDB
 * `domain-server-seq[,...]` or MySQL `uuid:1-5:7[,...]`).
 */
export interface MysqlPosition {
  readonly file: string;
  readonly offset: number;
  readonly gtid?: string;
}

/**
 * Text form `file:offset` or `file:offset@gtidset`, e.g.
 * `binlog.000002:1234@0-1-57`. Positions compare by file sequence number
 * (the numeric extension), then offset; the GTID set is carried along but
 * not compared (file and offset order events within one server's log).
 */
export const mysqlPositionCodec: PositionCodec<MysqlPosition> = {
  parse(serialized: string): MysqlPosition {
    const at = serialized.indexOf("@");
    const head = at < 0 ? serialized : serialized.slice(0, at);
    const colon = head.lastIndexOf(":");
    const offset = Number(head.slice(colon + 1));
    if (colon <= 0 || !Number.isSafeInteger(offset) || offset < 0 || head.slice(colon + 1).trim() === "") {
      throw new ZeroEtlError(`not a mysql binlog position (expected file:offset[@gtid]): ${JSON.stringify(serialized.slice(0, 200))}`, { code: "position-invalid" });
    }
    const file = head.slice(0, colon);
    const gtid = at < 0 ? "" : serialized.slice(at + 1);
    return gtid === "" ? { file, offset } : { file, offset, gtid };
  },
  serialize(position: MysqlPosition): string {
    return position.gtid === undefined || position.gtid === "" ? `${position.file}:${position.offset}` : `${position.file}:${position.offset}@${position.gtid}`;
  },
  compare(a: MysqlPosition, b: MysqlPosition): number {
    const fa = fileSequence(a.file);
    const fb = fileSequence(b.file);
    if (fa !== fb) return fa < fb ? -1 : 1;
    if (a.file !== b.file) return a.file < b.file ? -1 : 1;
    return a.offset - b.offset;
  },
};

function fileSequence(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  return m === null ? -1 : Number(m[1]);
}

/**
 * The GTID state of a stream, updated event by event and rendered as a GTID
 * set. MariaDB keeps the last `domain-server-seq` per domain; MySQL keeps
 * interval sets per source uuid.
 */
export class GtidState {
  private readonly mariadb = new Map<string, string>();
  private readonly mysql = new Map<string, [bigint, bigint][]>();

  /** Starts from a GTID set text (either flavour); empty or undefined gives an empty state. */
  constructor(initial?: string) {
    if (initial !== undefined && initial.trim() !== "") this.addSet(initial);
  }

  /** Replaces the state with a full set (a GTID_LIST / PREVIOUS_GTIDS event). */
  reset(set: string): void {
    this.mariadb.clear();
    this.mysql.clear();
    this.addSet(set);
  }

  /** Adds every GTID of a set text. */
  addSet(set: string): void {
    for (const part of set.split(",")) {
      const item = part.trim();
      if (item === "") continue;
      if (/^\d+-\d+-\d+$/.test(item)) {
        this.add(item);
        continue;
      }
      const [uuid, ...ranges] = item.split(":");
      if (uuid === undefined || ranges.length === 0) throw new ZeroEtlError(`not a gtid set: ${JSON.stringify(item.slice(0, 100))}`, { code: "position-invalid" });
      for (const range of ranges) {
        const [start, end] = range.split("-");
        this.addInterval(uuid.toLowerCase(), BigInt(start ?? "0"), BigInt(end ?? start ?? "0"));
      }
    }
  }

  /** Adds one GTID: `domain-server-seq` or `uuid:n`. */
  add(gtid: string): void {
    const dash = /^(\d+)-(\d+)-(\d+)$/.exec(gtid);
    if (dash !== null) {
      this.mariadb.set(dash[1] as string, gtid);
      return;
    }
    const colon = gtid.lastIndexOf(":");
    const n = BigInt(gtid.slice(colon + 1));
    this.addInterval(gtid.slice(0, colon).toLowerCase(), n, n);
  }

  private addInterval(uuid: string, start: bigint, end: bigint): void {
    const list = this.mysql.get(uuid) ?? [];
    list.push([start, end]);
    list.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const interval of list) {
      const last = merged[merged.length - 1];
      if (last !== undefined && interval[0] <= last[1] + 1n) {
        if (interval[1] > last[1]) last[1] = interval[1];
      } else {
        merged.push([interval[0], interval[1]]);
      }
    }
    this.mysql.set(uuid, merged);
  }

  /** The set as text; MariaDB domains in numeric order, MySQL uuids sorted. Empty string when empty. */
  toString(): string {
    const parts: string[] = [];
    for (const domain of [...this.mariadb.keys()].sort((a, b) => Number(a) - Number(b))) parts.push(this.mariadb.get(domain) as string);
    for (const uuid of [...this.mysql.keys()].sort()) {
      const ranges = (this.mysql.get(uuid) ?? []).map(([s, e]) => (s === e ? `${s}` : `${s}-${e}`));
      parts.push(`${uuid}:${ranges.join(":")}`);
    }
    return parts.join(",");
  }
}
