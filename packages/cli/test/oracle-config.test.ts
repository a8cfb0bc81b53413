import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, silentLogger } from "@zero-etl/core";
import { buildPipeline, validatePipelineConfig } from "@zero-etl/cli";

describe("source.type oracle in the pipeline config", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "oracle-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const config = (source: Record<string, unknown>) => ({
    name: "orders",
    source: { type: "oracle", url: "oracle://app:secret@db.example:1521/ORCLPDB1", ...source },
    target: { type: "postgres", url: "postgres://wh@warehouse/dw" },
    state: { dir },
  });

  it("validates the oracle fields and builds an oracle source without connecting", async () => {
    const valid = validatePipelineConfig(config({ owner: "SALES", windowScns: 50_000, snapshotParallelism: 4 }));
    const parts = await buildPipeline(valid, silentLogger);
    expect(parts.source.kind).toBe("oracle");
    expect(parts.source.positions.serialize(parts.source.positions.parse("123;open=100"))).toBe("123;open=100");
    await parts.source.close();
    await parts.sink.close();
  });

  it("names the field that is wrong", () => {
    const error = (source: Record<string, unknown>): ConfigError => {
      try {
        validatePipelineConfig(config(source));
      } catch (e) {
        if (e instanceof ConfigError) return e;
        throw e;
      }
      throw new Error("expected a ConfigError");
    };
    expect(error({ url: "postgres://x@y/z" }).message).toBe("source.url: expected a oracle:// URL");
    expect(error({ windowScns: 0 }).path).toBe("source.windowScns");
    expect(error({ logMiner: true }).message).toMatch(/^source\.logMiner: expected no such field/);
  });
});
