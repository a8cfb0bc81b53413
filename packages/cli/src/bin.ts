#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { ConfigError, ZeroEtlError, redactText } from "@zero-etl/core";
import { checkCommand } from "./commands/check-command.js";
import { runCommand } from "./commands/run-command.js";
import { maintainCommand } from "./commands/maintain-command.js";
import { resyncCommand } from "./commands/resync-command.js";
import { statusCommand } from "./commands/status-command.js";

// commander: a maintained argument parser with help, subcommands and usage
// errors, instead of hand-written argv handling
function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError("a port number from 0 to 65535");
  return port;
}

const program = new Command("zeroetl").description("Continuous replication from operational databases to analytics targets").showHelpAfterError();

program
  .command("run")
  .argument("<config>", "pipeline config file (JSON or YAML)")
  .option("--until-caught-up", "exit 0 once the target holds everything committed at the source when the command started")
  .option("--metrics-port <port>", "serve Prometheus metrics at http://<host>:<port>/metrics (0: a free port, printed)", parsePort)
  .description("snapshot if needed, then stream changes into the target")
  .action(async (config: string, options: { untilCaughtUp?: boolean; metricsPort?: number }) => {
    await runCommand(config, { untilCaughtUp: options.untilCaughtUp === true, ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }) });
  });

program
  .command("check")
  .argument("<config>", "pipeline config file")
  .option("--fix", "apply the fixes that are safe (publication, replica identity, stream settings, ...)")
  .option("--drop-slot <name>", "drop this inactive zeroetl_* replication slot of another (renamed or removed) pipeline; repeatable", (name: string, all: string[]) => [...all, name], [] as string[])
  .description("preflight: say what the source and target lack")
  .action(async (config: string, options: { fix?: boolean; dropSlot: string[] }) => {
    if (!(await checkCommand(config, { fix: options.fix === true, dropSlots: options.dropSlot }))) process.exitCode = 1;
  });

program
  .command("status")
  .argument("<config>", "pipeline config file")
  .option("--json", "print one JSON object (schema in docs/monitoring.md) for scripts")
  .option("--watch", "redraw a live view per table until Ctrl-C")
  .option("--interval <seconds>", "seconds between redraws with --watch", "1")
  .description("show the checkpoint and every table's state")
  .action(async (config: string, options: { json?: boolean; watch?: boolean; interval: string }) => {
    const seconds = Number(options.interval);
    if (!(seconds > 0)) throw new InvalidArgumentError("--interval: a positive number of seconds");
    await statusCommand(config, { json: options.json === true, watch: options.watch === true, intervalMs: seconds * 1000 });
  });

program
  .command("resync")
  .argument("<config>", "pipeline config file")
  .argument("<tables...>", "tables to re-snapshot, as namespace.name")
  .description("re-snapshot some tables, keep the others' checkpoints, then catch up")
  .action(async (config: string, tables: string[]) => {
    await resyncCommand(config, tables);
  });

program
  .command("maintain")
  .argument("<config>", "pipeline config file")
  .option("--expire-older-than-hours <hours>", "expire snapshots older than this", "24")
  .option("--retain-last <n>", "always keep the newest n snapshots", "10")
  .option("--orphans-older-than-hours <hours>", "remove unreferenced files only when older than this (a running pipeline's commit in flight is younger)", "24")
  .description("compact tables, expire old snapshots and remove orphan files (Iceberg targets)")
  .action(async (config: string, options: { expireOlderThanHours: string; retainLast: string; orphansOlderThanHours: string }) => {
    await maintainCommand(config, {
      expireOlderThanHours: Number(options.expireOlderThanHours),
      retainLast: Number(options.retainLast),
      orphansOlderThanHours: Number(options.orphansOlderThanHours),
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // 3: another process runs this pipeline; nothing was touched (a supervisor may try again later)
  process.exitCode = error instanceof ConfigError ? 2 : error instanceof ZeroEtlError && error.code === "pipeline-locked" ? 3 : 1;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ZeroEtlError ? ` [${error.code}]` : "";
  process.stderr.write(`zeroetl: ${redactText(message)}${code}\n`);
  if (process.env.ZEROETL_DEBUG === "1" && error instanceof Error && error.stack !== undefined) process.stderr.write(`${redactText(error.stack)}\n`);
}
