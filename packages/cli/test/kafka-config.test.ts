import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, silentLogger } from "@zero-etl/core";
import { buildPipeline, validatePipelineConfig } from "@zero-etl/cli";

describe("source.type and target.type kafka in the pipeline config", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kafka-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const worker = (source: Record<string, unknown>) => ({
    name: "w1",
    source: { type: "kafka", brokers: ["k1:9092"], topicPrefix: "shop", group: "apply", ...source },
    target: { type: "postgres", url: "postgres://wh@warehouse/dw" },
    state: { dir },
  });
  const capture = (target: Record<string, unknown>) => ({
    name: "capture",
    source: { type: "postgres", url: "postgres://app@db/shop" },
    target: { type: "kafka", brokers: ["k1:9092", "k2:9092"], topicPrefix: "shop", ...target },
    state: { dir },
  });
  const error = (config: unknown): ConfigError => {
    try {
      validatePipelineConfig(config);
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error("the config was accepted");
  };

  it("builds a Kafka source and a Kafka sink without connecting", async () => {
    const source = await buildPipeline(validatePipelineConfig(worker({ maxBatchRecords: 1000, handoverGraceMs: 0 })), silentLogger);
    expect(source.source.kind).toBe("kafka");
    expect(source.source.positions.serialize(source.source.positions.parse("shop.public.t:3:42"))).toBe("shop.public.t:3:42");
    await source.source.close();
    await source.sink.close();
    const distributed = await buildPipeline(validatePipelineConfig(worker({ distributedSnapshot: { sourceUrl: "postgres://app@db/shop" } })), silentLogger);
    expect(distributed.source.kind).toBe("kafka");
    await distributed.source.close();
    await distributed.sink.close();
    const target = await buildPipeline(validatePipelineConfig(capture({ partitions: 12, replicationFactor: 3, format: "debezium-json", distributedSnapshot: { chunkBlocks: 64 } })), silentLogger);
    expect(target.sink.kind).toBe("kafka");
    expect(target.sink.capabilities.checkpointsInTarget).toBe(true);
    expect(target.sink.acceptsCopy?.({ table: { namespace: "public", name: "t" }, columns: [], primaryKey: ["id"], version: 1 }, [])).toBe(true);
    await target.source.close();
    await target.sink.close();
  });

  it("names the field that is wrong", () => {
    expect(error(worker({ brokers: ["k1"] })).path).toBe("source.brokers.0");
    expect(error(worker({ group: "" })).path).toBe("source.group");
    expect(error(worker({ topics: ["a"] })).path).toBe("source.topics");
    expect(error(worker({ topicPrefix: undefined })).path).toBe("source.topics");
    expect(error(capture({ format: "avro" })).path).toBe("target.format");
    expect(error(capture({ topicPrefix: "bad prefix" })).path).toBe("target.topicPrefix");
    expect(error(capture({ partitions: 0 })).path).toBe("target.partitions");
    expect(error(capture({ acks: 1 })).path).toBe("target.acks");
    expect(error(worker({ distributedSnapshot: { sourceUrl: "mysql://db/shop" } })).path).toBe("source.distributedSnapshot.sourceUrl");
    expect(error(worker({ distributedSnapshot: {} })).path).toBe("source.distributedSnapshot.sourceUrl");
    expect(error(worker({ topicPrefix: undefined, topics: ["shop.public.t"], distributedSnapshot: { sourceUrl: "postgres://app@db/shop" } })).path).toBe("source.distributedSnapshot");
    expect(error(capture({ distributedSnapshot: { chunkBlocks: 0 } })).path).toMatch(/^target\.distributedSnapshot/);
    expect(error(capture({ distributedSnapshot: { chunks: 4 } })).path).toMatch(/^target\.distributedSnapshot/);
  });
});
