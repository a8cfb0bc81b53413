/**
 * The part to copy: a pipeline embedded in a Node HTTP service.
 *
 * - `runPipeline` from `@zero-etl/core` with the PostgreSQL source and sink;
 * - `GET /healthz`: 200 while the pipeline runs and is not riding out an
 *   outage, 503 otherwise, with a small JSON body (state, lag, tables);
 * - `GET /metrics`: Prometheus series (`createPrometheusMetrics`);
 * - `stop()`: aborts the pipeline, which flushes and checkpoints before
 *   `runPipeline` returns, then closes the server and the connections.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  createFileCheckpointStore,
  createFileDeadLetterQueue,
  createLogger,
  createPipelineMetrics,
  createPrometheusMetrics,
  runPipeline,
  type PipelineResult,
  type TableStatus,
} from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createPostgresSource } from "@zero-etl/sources/postgres";

/** What the service needs to know. */
export interface ReplicationServiceOptions {
  readonly pipeline: string;
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly targetSchema: string;
  /** Local checkpoints and dead letters (the PostgreSQL sink keeps its checkpoint in the target too). */
  readonly stateDir: string;
  /** 0 for a free port. */
  readonly port: number;
  readonly host?: string;
}

/** A running service. */
export interface ReplicationService {
  readonly port: number;
  /** Settles when the pipeline ends (after `stop()`, or on a fatal error). */
  readonly finished: Promise<PipelineResult>;
  /** Stops gracefully: flush, checkpoint, close. */
  stop(): Promise<PipelineResult>;
}

/** Starts the pipeline and the HTTP server beside it. */
export async function startReplicationService(options: ReplicationServiceOptions): Promise<ReplicationService> {
  const logger = createLogger({ level: "warn" });
  const metrics = createPipelineMetrics();
  const prometheus = createPrometheusMetrics(metrics, { pipeline: options.pipeline });
  const source = createPostgresSource({ url: options.sourceUrl, pipeline: options.pipeline, logger: logger.child({ component: "source" }) });
  const sink = createPostgresSink({ url: options.targetUrl, schema: options.targetSchema, logger: logger.child({ component: "sink" }) });

  // what /healthz reports, kept from the metric events
  let state: "starting" | "running" | "retrying" | "stopping" | "stopped" | "failed" = "starting";
  let failure: string | undefined;
  let tables: Readonly<Record<string, TableStatus>> = {};
  let lastCheckpointAt: number | undefined;
  metrics.subscribe((event) => {
    if (event.type === "checkpoint") {
      lastCheckpointAt = Date.now();
      tables = event.tables ?? tables;
      if (state === "starting") state = "running";
    } else if (event.type === "retrying" && state === "running") {
      state = "retrying";
    } else if (event.type === "recovered" && state === "retrying") {
      state = "running";
    }
  });

  const controller = new AbortController();
  const finished = runPipeline({
    name: options.pipeline,
    source,
    sink,
    checkpoints: createFileCheckpointStore(options.stateDir),
    deadLetters: createFileDeadLetterQueue(join(options.stateDir, `${options.pipeline}.dead-letters.jsonl`)),
    metrics,
    logger,
    signal: controller.signal,
  });
  finished.then(
    () => (state = "stopped"),
    (error: unknown) => {
      state = "failed";
      failure = (error as Error).message;
    },
  );

  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      prometheus.text().then(
        (text) => response.writeHead(200, { "content-type": prometheus.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    } else if (path === "/healthz") {
      const healthy = state === "running" || state === "starting";
      const body = {
        status: state,
        ...(failure === undefined ? {} : { error: failure }),
        lagSeconds: metrics.totals().lagSeconds,
        checkpointAgeSeconds: lastCheckpointAt === undefined ? null : (Date.now() - lastCheckpointAt) / 1000,
        tables: Object.fromEntries(Object.entries(tables).map(([table, s]) => [table, { state: s.state, rows: s.rows }])),
      };
      response.writeHead(healthy ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((listening) => server.listen(options.port, options.host ?? "127.0.0.1", listening));

  let stopping: Promise<PipelineResult> | undefined;
  const stop = (): Promise<PipelineResult> =>
    (stopping ??= (async () => {
      if (state !== "failed") state = "stopping";
      controller.abort();
      try {
        return await finished;
      } finally {
        server.closeAllConnections();
        await new Promise<void>((closed) => server.close(() => closed()));
        prometheus.close();
        await Promise.allSettled([source.close(), sink.close()]);
      }
    })());
  return { port: (server.address() as AddressInfo).port, finished, stop };
}
