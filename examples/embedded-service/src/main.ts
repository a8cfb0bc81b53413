/**
 * The service's entry point: configuration from the environment, SIGTERM
 * and SIGINT stop it gracefully (exit 0 once the last changes are
 * checkpointed), a pipeline that fails ends it with exit 1.
 *
 *   SOURCE_URL=postgres://... TARGET_URL=postgres://... PORT=8080 pnpm start
 */
import { startReplicationService } from "./replication-service.js";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

const service = await startReplicationService({
  pipeline: process.env.PIPELINE ?? "embedded",
  sourceUrl: required("SOURCE_URL"),
  targetUrl: required("TARGET_URL"),
  targetSchema: process.env.TARGET_SCHEMA ?? "replica",
  stateDir: process.env.STATE_DIR ?? ".zero-etl/embedded-service",
  port: Number(process.env.PORT ?? 8080),
});
console.log(`listening on http://127.0.0.1:${service.port} (/healthz, /metrics)`);

const shutdown = (signal: string) => {
  console.log(`${signal}: stopping, flushing and checkpointing`);
  service.stop().then(
    (result) => {
      console.log(`stopped at checkpoint ${result.checkpoint.position ?? "-"}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(`stopped with an error: ${(error as Error).message}`);
      process.exit(1);
    },
  );
};
process.once("SIGTERM", () => shutdown("SIGTERM"));
process.once("SIGINT", () => shutdown("SIGINT"));
service.finished.catch((error: unknown) => {
  console.error(`pipeline failed: ${(error as Error).message}`);
  process.exit(1);
});
