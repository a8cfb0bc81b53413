import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "@zero-etl/core";
import { loadPipelineConfig, validatePipelineConfig } from "@zero-etl/cli";

const valid = {
  name: "shop",
  source: { type: "postgres", url: "postgres://app:secret@db:5432/shop" },
  target: { type: "postgres", url: "postgres://wh@warehouse/dw", schema: "analytics" },
  state: { dir: "/var/lib/zeroetl" },
};

function errorOf(value: unknown): ConfigError {
  try {
    validatePipelineConfig(value);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("pipeline config", () => {
  it("accepts a valid config and freezes it", () => {
    const config = validatePipelineConfig(valid);
    expect(config.source.type).toBe("postgres");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("validates retry and timeouts", () => {
    const config = validatePipelineConfig({ ...valid, retry: { maxElapsedMs: 600_000, baseDelayMs: 500, maxDelayMs: 30_000 }, timeouts: { connectMs: 5_000, queryMs: 0, keepaliveMs: 30_000 } });
    expect(config.retry?.maxElapsedMs).toBe(600_000);
    expect(config.timeouts?.queryMs).toBe(0);
    expect(errorOf({ ...valid, retry: { maxElapsedMs: -1 } }).path).toBe("retry.maxElapsedMs");
    expect(errorOf({ ...valid, retry: { baseDelayMs: 2_000, maxDelayMs: 1_000 } }).message).toBe("retry.maxDelayMs: expected maxDelayMs at least baseDelayMs");
    expect(errorOf({ ...valid, retry: { maxAttempts: 3 } }).message).toMatch(/^retry\.maxAttempts: expected no such field/);
    expect(errorOf({ ...valid, timeouts: { connectMs: 0 } }).path).toBe("timeouts.connectMs");
    expect(errorOf({ ...valid, timeouts: { keepaliveMs: 1.5 } }).path).toBe("timeouts.keepaliveMs");
  });

  it("names the field and what was expected", () => {
    expect(errorOf({ ...valid, source: { type: "postgres", url: "mysql://x" } }).message).toBe("source.url: expected a postgres:// URL");
    expect(errorOf({ ...valid, source: { type: "postgres" } }).path).toBe("source.url");
    expect(errorOf({ ...valid, source: { type: "mongodb", url: "x" } }).message).toMatch(/^source.type: expected .*postgres, mysql, dynamodb, oracle/);
    expect(errorOf({ ...valid, target: { type: "iceberg", warehouse: "/tmp/w" } }).path).toBe("target.namespace");
    expect(errorOf({ ...valid, name: "has space" }).message).toMatch(/^name: expected 1-48 letters/);
    expect(errorOf({ ...valid, stat: {} }).message).toMatch(/^stat: expected no such field/);
    expect(errorOf({ ...valid, source: { ...valid.source, slot: 3 } }).path).toBe("source.slot");
    expect(errorOf({ ...valid, mapping: { unnest: { mode: "deep" } } }).path).toBe("mapping.unnest.mode");
  });

  it("never echoes secrets from the config in errors", () => {
    const error = errorOf({ ...valid, target: { ...valid.target, schema: 5 } });
    expect(error.message).not.toContain("secret");
  });

  it("reads YAML and JSON files and reports unreadable ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zetl-config-"));
    try {
      await writeFile(join(dir, "p.yaml"), "name: shop\nsource:\n  type: mysql\n  url: mysql://cdc@127.0.0.1/shop\ntarget:\n  type: iceberg\n  warehouse: /tmp/lake\n  namespace: shop\n");
      expect((await loadPipelineConfig(join(dir, "p.yaml"))).target.type).toBe("iceberg");
      await writeFile(join(dir, "bad.json"), "{ name: ");
      await expect(loadPipelineConfig(join(dir, "bad.json"))).rejects.toThrow(/^config: expected valid JSON/);
      await expect(loadPipelineConfig(join(dir, "missing.json"))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
