import type { ChangeEvent } from "../change/change-event.js";
import type { Sink, SinkCapabilities } from "../sink/sink.js";
import type { TableRef, TableSchema } from "../schema/table-schema.js";
import type { SnapshotChunk } from "../change/change-batch.js";

/** What a mapper may know about where data goes. */
export interface MapperContext {
  readonly sink: SinkCapabilities;
  /**
   * The schema a target table has in the target, as the sink last saw it
   * (after `prepare`), when the sink can tell ({@link Sink.targetSchema}).
   * Mappers that derive columns from data (unnest) read it to learn, after a
   * restart, the columns and types they created before.
   */
  readonly targetSchema?: (table: TableRef) => TableSchema | undefined;
}

/**
 * A pure transformation between source and sink. Mappers never mutate their
 * input, never do I/O, and compose in order ({@link composeMappers}).
 *
 * `mapSchema` turns one source table into zero (filtered out), one, or
 * several (e.g. unnested child tables) target tables; `mapEvents` does the
 * same to events and must agree with `mapSchema`. Mappers see schema
 * events too, so a mapper that tracks schemas updates itself from them.
 */
export interface Mapper {
  readonly name: string;
  mapSchema(schema: TableSchema, context: MapperContext): readonly TableSchema[];
  mapEvents(events: readonly ChangeEvent[], context: MapperContext): readonly ChangeEvent[];
  /**
   * Maps a snapshot chunk into chunks of the target tables. Absent means the
   * composer maps the rows as insert events, which is correct but slower.
   */
  mapChunk?(chunk: SnapshotChunk, context: MapperContext): readonly SnapshotChunk[];
  /**
   * Optional. Whether the mapper leaves this table's rows exactly as they
   * are: one target table of the same name and columns, every row kept,
   * nothing renamed or converted. Then the runtime may let the rows go from
   * source to sink without decoding them (`SnapshotChunk.copy`). Absent means
   * no.
   */
  passesRowsThrough?(schema: TableSchema, context: MapperContext): boolean;
  /**
   * Optional. The table is being read again from the source (a resync) into
   * a replaced or emptied target table: forget what was learned from its
   * earlier rows (shapes derived from data, counters), as for a table never
   * seen. Called before the re-read's first row reaches `mapEvents` or
   * `mapChunk`. A mapper without per-table state needs none.
   */
  resetTable?(table: TableRef): void;
}
