export type { OpenSearchSinkOptions, OpenSearchSinkConfig, OpenSearchBasicAuth, OpenSearchAwsAuthOptions } from "./opensearch-sink-options.js";
export type { AwsCredentials } from "./opensearch-sigv4-signer.js";
export { resolveOpenSearchSinkConfig } from "./opensearch-sink-options.js";
export { createOpenSearchSink } from "./opensearch-sink.js";
export { documentVersionOf } from "./opensearch-document-version.js";
export { openSearchIndexName } from "./opensearch-index-name.js";
export { DocumentEncoder, encodeValue } from "./opensearch-document-encoder.js";
