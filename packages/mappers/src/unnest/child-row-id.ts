import type { Value } from "@zero-etl/core";
import { writeJsonValue } from "./json-value-writer.js";
import { stableHash } from "./stable-hasher.js";

/** Column of a child table naming the row (or element) its list belongs to. */
export const PARENT_ID_COLUMN = "_zeroetl_parent_id";
/** Column of a child table holding the element's 0-based position in its list. */
export const LIST_INDEX_COLUMN = "_zeroetl_list_idx";
/** Column of a child table holding the element's own deterministic id (parent of its nested lists). */
export const ROW_ID_COLUMN = "_zeroetl_id";
/** Column of a child table holding a scalar list element. */
export const VALUE_COLUMN = "value";

/** The id of a root row from its primary-key values in key order; every child-row id derives from it. */
export function rootRowId(key: readonly Value[]): string {
  let text = "";
  for (const value of key) text += `${writeJsonValue(value)}\u0000`;
  return stableHash(text);
}

/** The id of the element at `index` of the list of `childTableFullName` under the row with id `parentId`. */
export function childRowId(parentId: string, childTableFullName: string, index: number): string {
  return stableHash(`${parentId}\u0000${childTableFullName}\u0000${index}`);
}
