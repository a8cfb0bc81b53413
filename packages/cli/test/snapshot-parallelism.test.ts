import { describe, expect, it } from "vitest";
import { snapshotParallelism, validatePipelineConfig } from "@zero-etl/cli";

const config = (source: string, target: string, parallelism?: number) =>
  validatePipelineConfig({
    name: "orders",
    source: { type: "postgres", url: source, ...(parallelism === undefined ? {} : { snapshot: { parallelism } }) },
    target: { type: "postgres", url: target },
  });

describe("source.snapshot.parallelism by default", () => {
  it("counts both servers when they share this host's cores", () => {
    expect(snapshotParallelism(config("postgres://u@127.0.0.1/a", "postgres://u@localhost/b"), undefined, 2)).toBe(1);
    expect(snapshotParallelism(config("postgres://u@127.0.0.1/a", "postgres://u@localhost/b"), undefined, 8)).toBe(4);
  });

  it("counts only the servers on this host", () => {
    expect(snapshotParallelism(config("postgres://u@127.0.0.1/a", "postgres://u@warehouse.example/b"), undefined, 2)).toBe(2);
    expect(snapshotParallelism(config("postgres://u@db.example/a", "postgres://u@warehouse.example/b"), undefined, 16)).toBe(8);
  });

  it("keeps what the config sets", () => {
    const set = config("postgres://u@127.0.0.1/a", "postgres://u@localhost/b", 4);
    expect(snapshotParallelism(set, set.source.type === "postgres" ? set.source.snapshot?.parallelism : undefined, 2)).toBe(4);
  });
});
