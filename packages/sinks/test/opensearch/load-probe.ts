// Imports the sink subpath given as argument and prints whether the OpenSearch client was loaded.
import { createRequire } from "node:module";

const subpath = process.argv[2] ?? "postgres";
await import(`@zero-etl/sinks/${subpath}`);
const cache = createRequire(import.meta.url).cache;
process.stdout.write(Object.keys(cache).some((file) => file.includes("@opensearch-project")) ? "loaded" : "not loaded");
