import { ZeroEtlError } from "@zero-etl/core";
import type { OracleRow } from "./oracle-database.js";
import { scnOf } from "./oracle-database.js";

/** One redo log file LogMiner can read: an online log group's member or an archived copy. */
export interface OracleLogFile {
  readonly name: string;
  readonly thread: number;
  readonly sequence: bigint;
  /** First SCN in the file. */
  readonly firstScn: bigint;
  /** First SCN after the file; `undefined` for the current online log, which is still being written. */
  readonly nextScn: bigint | undefined;
  readonly online: boolean;
}

/** Past this, NEXT_CHANGE# means "still open" (Oracle reports the maximum SCN for the current log). */
const OPEN_ENDED = 1n << 62n;

/** Reads rows of `ONLINE_LOGS_SQL` or `ARCHIVED_LOGS_SQL`. */
export function toLogFiles(rows: readonly OracleRow[], online: boolean): OracleLogFile[] {
  return rows.map((row) => {
    const next = scnOf(row.NEXT_SCN);
    return {
      name: String(row.NAME),
      thread: Number(row.THREAD ?? 1),
      sequence: scnOf(row.SEQUENCE) ?? 0n,
      firstScn: scnOf(row.FIRST_SCN) ?? 0n,
      nextScn: next === undefined || next >= OPEN_ENDED || (online && String(row.STATUS) === "CURRENT") ? undefined : next,
      online,
    };
  });
}

/**
 * The files to mine for the SCN window `(afterScn, toScn]`: per redo thread,
 * every log whose SCN range meets the window, the archived copy preferred
 * over the online group of the same sequence (an online group is reused once
 * archived). Throws `position-lost` when the retained logs no longer reach
 * back to `afterScn + 1` or a sequence in between is missing (purged).
 */
export function chooseLogFiles(files: readonly OracleLogFile[], afterScn: bigint, toScn: bigint): OracleLogFile[] {
  const bySequence = new Map<string, OracleLogFile>();
  for (const file of files) {
    const key = `${file.thread}:${file.sequence}`;
    const seen = bySequence.get(key);
    if (seen === undefined || (seen.online && !file.online)) bySequence.set(key, file);
  }
  const threads = new Map<number, OracleLogFile[]>();
  for (const file of bySequence.values()) {
    if (file.firstScn > toScn || (file.nextScn !== undefined && file.nextScn <= afterScn + 1n)) continue;
    const list = threads.get(file.thread) ?? [];
    list.push(file);
    threads.set(file.thread, list);
  }
  if (threads.size === 0) throw lost(afterScn, files);
  const chosen: OracleLogFile[] = [];
  for (const list of threads.values()) {
    list.sort((a, b) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0));
    const first = list[0];
    if (first === undefined || first.firstScn > afterScn + 1n) throw lost(afterScn, files);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const file = list[i];
      if (prev !== undefined && file !== undefined && file.sequence !== prev.sequence + 1n) {
        throw new ZeroEtlError(`oracle redo log sequence ${prev.sequence + 1n} of thread ${file.thread} is no longer available (purged); the stream cannot continue from SCN ${afterScn + 1n}; re-snapshot`, { code: "position-lost" });
      }
    }
    chosen.push(...list);
  }
  return chosen;
}

function lost(afterScn: bigint, files: readonly OracleLogFile[]): ZeroEtlError {
  let oldest: bigint | undefined;
  for (const f of files) if (oldest === undefined || f.firstScn < oldest) oldest = f.firstScn;
  return new ZeroEtlError(
    `oracle redo for SCN ${afterScn + 1n} is no longer retained (the oldest log starts at SCN ${oldest ?? "none"}); the archived logs were deleted before the pipeline read them; re-snapshot`,
    { code: "position-lost" },
  );
}
