import { pino, type Logger as PinoLogger } from "pino";
import { redactSecrets, redactText } from "./redact.js";

/** Structured logger. Messages are lowercase; fields carry tables, counts and positions, never row values or secrets. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level?: "debug" | "info" | "warn" | "error" | "silent";
  /** Where JSON lines go; standard error by default so standard output stays for results. */
  readonly destination?: NodeJS.WritableStream;
}

/** A JSON-lines logger (pino) whose every message and field passes through secret redaction. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const base = pino({ level: options.level ?? "info", base: null, timestamp: pino.stdTimeFunctions.isoTime }, options.destination ?? process.stderr);
  return wrap(base);
}

function wrap(log: PinoLogger): Logger {
  const emit = (level: "debug" | "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) => {
    if (fields === undefined) log[level](redactText(message));
    else log[level](redactSecrets(fields), redactText(message));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => wrap(log.child(redactSecrets(fields))),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
