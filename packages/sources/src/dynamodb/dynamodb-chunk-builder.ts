import { tableKey } from "@zero-etl/core";
import type { Row, SnapshotChunk, TableRef } from "@zero-etl/core";
import type { DynamoDbTableModel } from "./dynamodb-table-model.js";
import type { AttributeMap } from "./dynamodb-value.js";

/** Groups snapshot items into per-table {@link SnapshotChunk}s. */
export interface ChunkBuilder {
  /** Adds an item; returns a full chunk when its table's buffer reached the chunk size. */
  add(item: AttributeMap): SnapshotChunk | undefined;
  /** The final (`last: true`) chunk of every table seen, the base table always included. */
  finish(): SnapshotChunk[];
}

interface TableBuffer {
  readonly table: TableRef;
  rows: Row[];
  chunk: number;
  read: number;
}

/**
 * Creates a {@link ChunkBuilder}. `rowsEstimated` (DescribeTable's
 * ItemCount, refreshed by DynamoDB about every six hours) is reported only
 * without routing, where one target table holds every item.
 */
export function createChunkBuilder(model: DynamoDbTableModel, chunkSize: number, rowsEstimated?: number): ChunkBuilder {
  const buffers = new Map<string, TableBuffer>();
  const bufferFor = (table: TableRef): TableBuffer => {
    const key = tableKey(table);
    let b = buffers.get(key);
    if (b === undefined) {
      b = { table, rows: [], chunk: 0, read: 0 };
      buffers.set(key, b);
    }
    return b;
  };
  bufferFor(model.base);
  const estimate = rowsEstimated !== undefined && !model.routed ? { rowsEstimated } : {};
  const emit = (b: TableBuffer, last: boolean): SnapshotChunk => {
    const chunk: SnapshotChunk = { table: b.table, schema: model.schemaFor(b.table), rows: b.rows, chunk: b.chunk, last, rowsRead: b.read, ...estimate };
    b.chunk++;
    b.rows = [];
    return chunk;
  };
  return {
    add(item) {
      const b = bufferFor(model.route(item));
      b.rows.push(model.toRow(item));
      b.read++;
      return b.rows.length >= chunkSize ? emit(b, false) : undefined;
    },
    finish() {
      return [...buffers.values()].map((b) => emit(b, true));
    },
  };
}
