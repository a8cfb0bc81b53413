/**
 * Runs one PostgreSQL -> PostgreSQL pipeline with `runPipeline` until it has
 * caught up, in its own process, and prints one JSON line: rows applied,
 * milliseconds, and the process's peak RSS (`maxRSS`, kilobytes). Used by the
 * big-transaction test and `bench/big-tx.ts` to measure memory apart from the
 * test runner.
 *
 * Env: ZETL_CHILD_SOURCE_URL, ZETL_CHILD_TARGET_URL, ZETL_CHILD_PIPELINE,
 * ZETL_CHILD_TABLE (`namespace.name`), ZETL_CHILD_HISTORY=1 for history mode.
 * Run: node --conditions=zero-etl-source --import tsx packages/sinks/test/postgres/pipeline-child.ts
 */
import { createMemoryCheckpointStore, parseTableKey, runPipeline } from "../../../core/src/index.js";
import { createPostgresSource } from "../../../sources/src/postgres/index.js";
import { createPostgresSink } from "../../src/postgres/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
};

const pipeline = env("ZETL_CHILD_PIPELINE");
const table = env("ZETL_CHILD_TABLE");
const source = createPostgresSource({ url: env("ZETL_CHILD_SOURCE_URL"), pipeline, tables: [parseTableKey(table)] });
const sink = createPostgresSink({ url: env("ZETL_CHILD_TARGET_URL"), ...(process.env["ZETL_CHILD_HISTORY"] === "1" ? { history: { tables: [table] } } : {}) });
const started = performance.now();
try {
  const result = await runPipeline({ name: pipeline, source, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true });
  const rows = Object.values(result.rows).reduce((a, b) => a + b, 0);
  process.stdout.write(`${JSON.stringify({ rows, ms: performance.now() - started, maxRssKb: process.resourceUsage().maxRSS, position: result.checkpoint.position })}\n`);
} finally {
  await source.close();
  await sink.close();
}
