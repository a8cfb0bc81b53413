import { defineConfig } from "vitest/config";

// Tests import the workspace packages by name; the `zero-etl-source` export
// condition points those imports at the TypeScript sources, so no build is
// needed before a test run.
export default defineConfig({
  resolve: { conditions: ["zero-etl-source"] },
  ssr: { resolve: { conditions: ["zero-etl-source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two test files at a time even on a 2-core machine (vitest's default there is one): most of a file's
    // time is spent waiting on the servers and the CLI processes it starts, not on this process's CPU.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
