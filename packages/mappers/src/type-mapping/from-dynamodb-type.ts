import type { LogicalType } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";

/** The DynamoDB attribute type descriptors. */
export type DynamoDbAttributeType = "S" | "N" | "B" | "BOOL" | "NULL" | "M" | "L" | "SS" | "NS" | "BS";

/**
 * Maps a DynamoDB attribute type to a logical type. `N` is an exact decimal
 * (DynamoDB numbers have up to 38 digits, never a double); `M`, `L` and
 * `NULL` are `json` (their members are untyped); sets are lists.
 */
export function fromDynamoDbType(type: DynamoDbAttributeType): LogicalType {
  switch (type) {
    case "S":
      return { kind: "string" };
    case "N":
      return { kind: "decimal" };
    case "B":
      return { kind: "bytes" };
    case "BOOL":
      return { kind: "bool" };
    case "NULL":
    case "M":
    case "L":
      return { kind: "json" };
    case "SS":
      return { kind: "list", element: { kind: "string" } };
    case "NS":
      return { kind: "list", element: { kind: "decimal" } };
    case "BS":
      return { kind: "list", element: { kind: "bytes" } };
    default:
      throw new ConfigError("type", "one of S, N, B, BOOL, NULL, M, L, SS, NS, BS", JSON.stringify(type));
  }
}
