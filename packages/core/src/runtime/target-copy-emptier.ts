import type { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { TableSchema } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import type { Sink } from "../sink/sink.js";
import type { PipelineTarget } from "./pipeline-target.js";
import { isRefusal } from "./pipeline-target.js";
import type { RetryingOperation } from "./retrying-operation.js";

/** Options of {@link emptyTargetCopies}. */
export interface EmptyTargetCopiesOptions {
  readonly sink: Sink;
  readonly target: PipelineTarget;
  readonly retrying: RetryingOperation;
  /**
   * Whether the sink's `replaceTable` gives each table a new target table
   * (when the sink has one); otherwise the table is prepared and reset.
   */
  readonly replace: boolean;
  /** Called once a table's target tables are known, before any is replaced: throwing a refusal sets the table aside. */
  readonly admit?: (key: string) => void;
  /** A table the target refused (`isRefusal`): it is left out of what follows. Other errors are thrown. */
  readonly refused: (key: string, error: ZeroEtlError) => void;
}

/**
 * Gives each of `schemas` an empty target copy before it is read again (a
 * resync, blocking or incremental): the target remembers the schema, the
 * mappers forget the table, then every target table is replaced where the
 * sink can (all replacements first: a sink replaces a table only with
 * nothing pending), then reset (pending until the next flush). A table the
 * target refuses is reported through `refused` and skipped from then on.
 * Returns the keys of the refused tables.
 */
export async function emptyTargetCopies(schemas: readonly TableSchema[], options: EmptyTargetCopiesOptions): Promise<ReadonlySet<string>> {
  const { sink, target, retrying } = options;
  const replace = options.replace ? sink.replaceTable?.bind(sink) : undefined;
  const refused = new Set<string>();
  const setAside = (key: string, error: unknown): void => {
    if (!isRefusal(error)) throw error;
    refused.add(key);
    options.refused(key, error);
  };
  const resets: { key: string; target: TableSchema }[] = [];
  for (const schema of schemas) {
    const key = tableKey(schema.table);
    target.remember(schema);
    target.resetMapperState(schema.table);
    try {
      // a table set aside for a refused schema change gets a new target table where the sink can make one
      const targets = replace === undefined ? await target.prepare(schema) : target.targetsOf(schema);
      options.admit?.(key);
      for (const mapped of targets) {
        if (replace !== undefined) {
          await retrying(`replace ${tableKey(mapped.table)}`, () => replace(mapped));
          target.prepared(mapped);
        }
        resets.push({ key, target: mapped });
      }
    } catch (error) {
      setAside(key, error);
    }
  }
  for (const reset of resets) {
    if (refused.has(reset.key)) continue;
    try {
      await target.reset(reset.target);
    } catch (error) {
      setAside(reset.key, error);
    }
  }
  return refused;
}
