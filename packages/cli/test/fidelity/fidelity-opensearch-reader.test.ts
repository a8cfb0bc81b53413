import { describe, expect, it } from "vitest";
import { canonicalJson, parseJsonTree } from "../../../../fidelity/src/canonical-value.js";
import { canonicalDocumentValue, looseCanonicalJson } from "../../../../fidelity/src/opensearch-index-reader.js";

// The pg-opensearch reader's normalisation of a document's `_source` fields
// (docs/fidelity.md): exact numbers, base64 bytes, ISO timestamps, and JSON
// with number-literal strings counted as numbers on both sides.
describe("fidelity OpenSearch document normalisation", () => {
  const field = (json: string) => parseJsonTree(json);

  it("reads integers and decimals exactly, as numbers or digit strings", () => {
    expect(canonicalDocumentValue("int", field('"9223372036854775807"'))).toBe("9223372036854775807");
    expect(canonicalDocumentValue("decimal", field("123456789012345678901234567890.10"))).toBe("123456789012345678901234567890.1");
    expect(canonicalDocumentValue("decimal", field('"NaN"'))).toBe("NaN");
    expect(canonicalDocumentValue("int", field("1.5"))).not.toBe("2");
  });

  it("reads bytes from base64 as hex, timestamps from ISO-8601, a missing field as NULL", () => {
    expect(canonicalDocumentValue("bytes", field('"3q2+7w=="'))).toBe("deadbeef");
    expect(canonicalDocumentValue("timestamptz", field('"2001-02-03T04:05:06.500000Z"'))).toBe("2001-02-03 04:05:06.5");
    expect(canonicalDocumentValue("timestamp", field('"infinity"'))).toBe("infinity");
    expect(canonicalDocumentValue("text", undefined)).toBeNull();
    expect(canonicalDocumentValue("bool", field('"true"'))).toBe('!"true"');
  });

  it("compares nested digit strings with the source's numbers, the same way on both sides", () => {
    const source = looseCanonicalJson(canonicalJson('{"at": {"x": 2248.460, "y": 1.5}, "tags": ["12", "a"]}'));
    const target = canonicalDocumentValue("json", field('{"tags": ["12", "a"], "at": {"y": 1.5, "x": "2248.460"}}'));
    expect(target).toBe(source);
    expect(canonicalDocumentValue("json", field('{"at": {"x": "2248.461"}}'))).not.toBe(looseCanonicalJson('{"at": {"x": 2248.46}}'));
    expect(canonicalDocumentValue("json", field('["1", null]'))).toBe(looseCanonicalJson("[1, null]"));
  });
});
