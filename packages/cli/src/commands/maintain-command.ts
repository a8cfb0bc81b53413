import { ConfigError, createLogger, type TableRef } from "@zero-etl/core";
import { buildPipeline } from "../config/build-pipeline.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { formatTable } from "../terminal/format-table.js";

/** What a sink with table maintenance offers (the Iceberg sink does). */
interface MaintainableSink {
  compactTable(table: TableRef): Promise<{ filesDeleted: number; snapshotsExpired: number }>;
  expireSnapshots(options: { olderThanMs: number; retainLast: number }): Promise<{ filesDeleted: number; snapshotsExpired: number }>;
  removeOrphanFiles(options: { olderThanMs: number }): Promise<{ filesDeleted: number; snapshotsExpired: number }>;
}

function isMaintainable(sink: object): sink is MaintainableSink {
  return "compactTable" in sink && "expireSnapshots" in sink && "removeOrphanFiles" in sink;
}

/** Options of `zeroetl maintain`. */
export interface MaintainCommandOptions {
  /** Keep snapshots younger than this many hours (and always the newest `retainLast`). */
  readonly expireOlderThanHours: number;
  readonly retainLast: number;
  /**
   * Remove unreferenced files only when older than this many hours: a commit
   * of the running pipeline has written its files before its metadata.
   */
  readonly orphansOlderThanHours: number;
}

/**
 * `zeroetl maintain <config>`: for a target with table maintenance
 * (Iceberg): rewrites every table's data files with deletes applied, expires
 * old snapshots and removes old files nothing references. Safe to run while
 * the pipeline runs: compaction and expiry are ordinary catalog commits that
 * start over when the pipeline commits first, expiry deletes only files the
 * current snapshot cannot reach, orphan removal spares files younger than
 * `orphansOlderThanHours` (a commit in flight), and the pipeline reloads
 * its table when expiry removed files its older view of the table named.
 */
export async function maintainCommand(file: string, options: MaintainCommandOptions): Promise<void> {
  const config = await loadPipelineConfig(file);
  const logger = createLogger({ level: config.log?.level ?? "warn" });
  const parts = await buildPipeline(config, logger);
  try {
    if (!isMaintainable(parts.sink)) throw new ConfigError("target.type", "a target with table maintenance (iceberg)", config.target.type);
    await parts.sink.open({ pipeline: config.name });
    const rows: string[][] = [];
    for (const schema of await parts.source.introspect()) {
      for (const target of parts.mappers.reduce<readonly (typeof schema)[]>((all, m) => all.flatMap((s) => m.mapSchema(s, { sink: parts.sink.capabilities })), [schema])) {
        await parts.sink.prepare(target);
        const result = await parts.sink.compactTable(target.table);
        rows.push([`${target.table.namespace}.${target.table.name}`, "compacted", String(result.filesDeleted)]);
      }
    }
    const expired = await parts.sink.expireSnapshots({ olderThanMs: Date.now() - options.expireOlderThanHours * 3_600_000, retainLast: options.retainLast });
    rows.push(["*", `expired ${expired.snapshotsExpired} snapshot(s)`, String(expired.filesDeleted)]);
    const orphans = await parts.sink.removeOrphanFiles({ olderThanMs: Date.now() - options.orphansOlderThanHours * 3_600_000 });
    rows.push(["*", "orphan files removed", String(orphans.filesDeleted)]);
    process.stdout.write(`${formatTable(["table", "action", "files deleted"], rows)}\n`);
  } finally {
    await Promise.allSettled([parts.source.close(), parts.sink.close()]);
  }
}
