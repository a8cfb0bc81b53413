import type { PairName } from "./pair-driver.js";

/**
 * The fixed seeds CI runs per pair (two or three) (with the gates `ci: true` in
 * feature-gates.ts). Chosen to cover each pair's CI gates, including a kill -9
 * phase, in about three minutes for all four pairs on a 2-core machine.
 * More seeds: `pnpm fuzz --seeds N`.
 */
export const CI_SEEDS: Readonly<Record<PairName, readonly number[]>> = {
  "pg-pg": [185, 238, 46],
  "mysql-pg": [197, 291],
  "pg-iceberg": [40, 187],
  "dynamodb-pg": [97, 117],
  "pg-opensearch": [46, 86],
  "pg-kafka-pg": [49, 181],
  "pg-redshift": [1, 43],
};
