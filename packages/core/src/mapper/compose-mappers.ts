import type { SnapshotChunk } from "../change/change-batch.js";
import type { ChangeEvent, InsertEvent } from "../change/change-event.js";
import { tableKey } from "../schema/table-schema.js";
import type { TableSchema } from "../schema/table-schema.js";
import type { Row } from "../schema/value.js";
import type { Mapper, MapperContext } from "./mapper.js";

/**
 * Composes mappers left to right into one. The result is itself a mapper, so
 * compositions nest. An empty list is the identity.
 */
export function composeMappers(mappers: readonly Mapper[]): Mapper {
  if (mappers.length === 1 && mappers[0] !== undefined) return mappers[0];
  return {
    name: mappers.map((m) => m.name).join("+") || "identity",
    mapSchema(schema, context) {
      let schemas: readonly TableSchema[] = [schema];
      for (const mapper of mappers) schemas = schemas.flatMap((s) => mapper.mapSchema(s, context));
      return schemas;
    },
    mapEvents(events, context) {
      let out: readonly ChangeEvent[] = events;
      for (const mapper of mappers) out = mapper.mapEvents(out, context);
      return out;
    },
    passesRowsThrough(schema, context) {
      return mappers.every((m) => m.passesRowsThrough?.(schema, context) === true);
    },
    resetTable(table) {
      for (const mapper of mappers) mapper.resetTable?.(table);
    },
    mapChunk(chunk, context) {
      let chunks: readonly SnapshotChunk[] = [chunk];
      for (const mapper of mappers) chunks = chunks.flatMap((c) => mapChunkWith(mapper, c, context));
      return chunks;
    },
  };
}

/**
 * Maps a snapshot chunk with a mapper, falling back to mapping its rows as
 * insert events when the mapper has no `mapChunk`.
 */
export function mapChunkWith(mapper: Mapper, chunk: SnapshotChunk, context: MapperContext): readonly SnapshotChunk[] {
  if (mapper.mapChunk) return mapper.mapChunk(chunk, context);
  const schemas = mapper.mapSchema(chunk.schema, context);
  if (schemas.length === 0) return [];
  const inserts: InsertEvent[] = chunk.rows.map((after) => ({ op: "insert", table: chunk.table, position: "", after }));
  const byTable = new Map<string, Row[]>();
  for (const schema of schemas) byTable.set(tableKey(schema.table), []);
  for (const event of mapper.mapEvents(inserts, context)) {
    if (event.op !== "insert") continue;
    byTable.get(tableKey(event.table))?.push(event.after);
  }
  return schemas.map((schema) => ({
    ...chunk,
    table: schema.table,
    schema,
    rows: byTable.get(tableKey(schema.table)) ?? [],
  }));
}
