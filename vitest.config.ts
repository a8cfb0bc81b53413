import { defineConfig } from "vitest/config";

// Tests import the workspace packages by name; the `zero-etl-source` export
// condition points those imports at the TypeScript sources, so no build is
// needed before a test run.
export default defineConfig({
  resolve: { conditions: ["zero-etl-source"] },
  ssr: { resolve: { conditions: ["zero-etl-source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
  },
});
