import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { ChangeEvent } from "../change/change-event.js";
import { tableKey } from "../schema/table-schema.js";
import type { Row, Value } from "../schema/value.js";

/** One dead-lettered record: what, where, and why. The row key is kept; other values are not, so secrets in rows never reach the file. */
export interface DeadLetter {
  readonly time: string;
  readonly pipeline: string;
  readonly table: string;
  readonly op: ChangeEvent["op"];
  readonly key: Readonly<Record<string, string | null>>;
  readonly position: string;
  readonly reason: string;
}

/** Where rejected records go. */
export interface DeadLetterQueue {
  put(letters: readonly DeadLetter[]): Promise<void>;
}

/** Builds a dead letter from a rejected event and the primary-key columns of its table. */
export function toDeadLetter(pipeline: string, event: ChangeEvent, primaryKey: readonly string[], reason: string): DeadLetter {
  const image: Row | undefined = event.op === "insert" ? event.after : event.op === "update" || event.op === "delete" ? event.key : undefined;
  const key: Record<string, string | null> = {};
  if (image !== undefined) for (const column of primaryKey) key[column] = keyText(image[column] ?? null);
  return { time: new Date().toISOString(), pipeline, table: tableKey(event.table), op: event.op, key, position: event.position, reason };
}

function keyText(value: Value): string | null {
  if (value === null) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Appends dead letters as JSON lines to a file (created with its directory on first use). */
export function createFileDeadLetterQueue(file: string): DeadLetterQueue {
  let ready: Promise<unknown> | undefined;
  return {
    async put(letters) {
      if (letters.length === 0) return;
      ready ??= mkdir(dirname(file), { recursive: true });
      await ready;
      await appendFile(file, letters.map((l) => JSON.stringify(l)).join("\n") + "\n");
    },
  };
}

/** Keeps dead letters in memory (tests, embedding). */
export function createMemoryDeadLetterQueue(): DeadLetterQueue & { readonly letters: readonly DeadLetter[] } {
  const letters: DeadLetter[] = [];
  return {
    letters,
    put: async (more) => {
      letters.push(...more);
    },
  };
}
