import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));

async function probe(subpath: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(here, "load-probe.ts"), subpath], { cwd: here });
  return stdout;
}

// the OpenSearch client is an optional peer: a pipeline with another target must not need it
describe("@zero-etl/sinks/opensearch is loaded only when imported", () => {
  it("importing the PostgreSQL or Iceberg sink does not load the OpenSearch client", async () => {
    expect(await probe("postgres")).toBe("not loaded");
    expect(await probe("iceberg")).toBe("not loaded");
  });

  it("importing the OpenSearch sink does", async () => {
    expect(await probe("opensearch")).toBe("loaded");
  });
});
