import type { Logger, SelectionChanges, Source } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";
import type { TableFilter } from "@zero-etl/mappers";
import { LIVE_FILTER_SOURCES, tableFilterOptions } from "../config/build-pipeline.js";
import { changedFields } from "../config/config-diff.js";
import type { LiveTableFilter } from "../config/live-table-filter.js";
import type { PipelineConfig } from "../config/pipeline-config.js";
import { assertDistinctTargetNames, resolveTargetNaming, type TargetNaming } from "../config/target-naming.js";

/** What {@link createFilterReload} works with. */
export interface FilterReloadOptions {
  /** The config the run started with. */
  readonly config: PipelineConfig;
  readonly source: Source;
  readonly naming: TargetNaming;
  /** The running source's filter; absent when the source cannot change its selection while it runs. */
  readonly liveFilter: LiveTableFilter | undefined;
  readonly selectionChanges: SelectionChanges;
  readonly logger: Logger;
}

/** The `filter` fields a running pipeline applies; everything else needs a restart. */
const LIVE_FIELDS = new Set(["filter.include", "filter.exclude"]);

/**
 * Returns what a running `zeroetl run` does with a config reloaded from its
 * file: the fields that differ from the config in force are named; a change
 * of `filter.include`/`filter.exclude` is handed to the running pipeline
 * (`SelectionChanges`), which applies it at its next checkpoint, after
 * checking that no two selected tables would share a target table (refused
 * with an error naming `mapping.tableNames`, the old filter stays); every
 * other change (also `filter.rows`) is logged once as needing a restart.
 * A filter change that would change how target tables are named (the
 * automatic `schema_table` naming follows the include patterns' schemas)
 * needs a restart too.
 */
export function createFilterReload(options: FilterReloadOptions): (config: PipelineConfig, why: string) => Promise<void> {
  const { source, selectionChanges, logger, liveFilter } = options;
  // what is in force, or asked of the running pipeline: a reload is compared with it
  let running = options.config;
  return async (next, why) => {
    const fields = changedFields(running, next);
    if (fields.length === 0) {
      logger.info("config file read: nothing changed", { why });
      return;
    }
    const live = fields.filter((field) => LIVE_FIELDS.has(field));
    const restart = fields.filter((field) => !LIVE_FIELDS.has(field));
    logger.info("config file changed", { why, fields });
    if (restart.length > 0) logger.warn(`config fields changed that apply only after a restart: ${restart.join(", ")}`, { fields: restart });
    if (live.length === 0) return;
    if (liveFilter === undefined || !LIVE_FILTER_SOURCES.has(options.config.source.type)) {
      logger.warn(`the filter changed; the ${options.config.source.type} source takes a new filter only after a restart`, { fields: live });
      return;
    }
    let filter: TableFilter | undefined;
    let naming: TargetNaming;
    try {
      const { parseTableFilter } = await import("@zero-etl/mappers");
      filter = next.filter === undefined ? undefined : parseTableFilter(tableFilterOptions(next));
      naming = resolveTargetNaming({
        configured: next.mapping?.tableNames,
        includeNamespaces: filter?.includeNamespaces,
        supportsQualifiedNames: next.target.type === "postgres",
        targetType: next.target.type,
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logger.error("filter not changed: invalid; the run keeps its current filter", { field: error.path, error: error.message });
      return;
    }
    if (naming.naming !== options.naming.naming) {
      logger.warn(`the filter changed how target tables are named (${options.naming.naming} to ${naming.naming}); it applies only after a restart`, { fields: [...live, "mapping.tableNames"] });
      return;
    }
    const previous = running;
    running = { ...running, filter: next.filter } as PipelineConfig;
    logger.info("filter change asked of the running pipeline; it applies at the next checkpoint", { include: next.filter?.include ?? [], exclude: next.filter?.exclude ?? [] });
    selectionChanges.request({
      apply: async () => {
        const before = liveFilter.current;
        liveFilter.set(filter);
        try {
          // two source tables must never share a target table
          assertDistinctTargetNames(await source.introspect(), options.naming);
        } catch (error) {
          liveFilter.set(before);
          running = previous;
          // (a source that cannot be read now: the same; SIGHUP asks again)
          const field = error instanceof ConfigError ? error.path : "filter";
          logger.error("filter not changed: refused; the run keeps its current filter", { field, error: error instanceof Error ? error.message : String(error) });
          return false;
        }
        logger.info("filter changed", { include: next.filter?.include ?? [], exclude: next.filter?.exclude ?? [] });
        return true;
      },
    });
  };
}
