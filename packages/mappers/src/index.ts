export type { UnnestMode, UnnestModeInput, UnnestOptions, ResolvedUnnestOptions } from "./unnest/unnest-options.js";
export { DEFAULT_MAX_DEPTH, parseUnnestMode, resolveUnnestOptions } from "./unnest/unnest-options.js";
export type { UnnestDocumentOptions, UnnestedDocument } from "./unnest/unnest-document.js";
export { unnestDocument } from "./unnest/unnest-document.js";
export type { InferSchemaOptions } from "./unnest/infer-schema.js";
export { inferSchema } from "./unnest/infer-schema.js";
export type { UnnestMapperOptions } from "./unnest/unnest-mapper.js";
export { createUnnestMapper } from "./unnest/unnest-mapper.js";
export type { RenestOptions } from "./unnest/renest-document.js";
export { renest } from "./unnest/renest-document.js";
export type { LeafKind } from "./unnest/table-unnester.js";
export { widenLeafKind } from "./unnest/table-unnester.js";
export { LIST_INDEX_COLUMN, PARENT_ID_COLUMN, ROW_ID_COLUMN, VALUE_COLUMN, childRowId, rootRowId } from "./unnest/child-row-id.js";
export type { LosslessJson } from "./unnest/lossless-json-parser.js";
export { LosslessNumber, jsonNumberToDecimal, parseLosslessJson } from "./unnest/lossless-json-parser.js";
export { writeJsonValue } from "./unnest/json-value-writer.js";
export { IdentifierRegistry, identifierBytes, shortenIdentifier } from "./unnest/identifier-shortener.js";
export { stableHash } from "./unnest/stable-hasher.js";
export type { FilterTableRef, TableFilter, TableFilterOptions } from "./filter/table-filter.js";
export { MAX_FILTER_PATTERNS, MAX_FILTER_PATTERN_LENGTH, parseTableFilter } from "./filter/table-filter.js";
export type { ComparisonOperator, FilterLiteral, FilterOperand, RowFilterNode } from "./filter/row-filter-parser.js";
export { RowFilterSyntaxError, parseRowFilter } from "./filter/row-filter-parser.js";
export type { CompileRowFilterOptions, RowPredicate } from "./filter/row-filter-compiler.js";
export { compileRowFilter } from "./filter/row-filter-compiler.js";
export { compareDecimalText, isDecimalText } from "./filter/decimal-comparator.js";
export type { FilterMapperOptions } from "./filter/filter-mapper.js";
export { createFilterMapper } from "./filter/filter-mapper.js";
export type { TargetTypeMapping, TypeMappingDecision } from "./type-mapping/type-mapping-result.js";
export { worseDecision } from "./type-mapping/type-mapping-result.js";
export { fromPostgresType } from "./type-mapping/from-postgres-type.js";
export { fromMysqlType } from "./type-mapping/from-mysql-type.js";
export type { DynamoDbAttributeType } from "./type-mapping/from-dynamodb-type.js";
export { fromDynamoDbType } from "./type-mapping/from-dynamodb-type.js";
export type { OracleColumnFacts } from "./type-mapping/from-oracle-type.js";
export { fromOracleType } from "./type-mapping/from-oracle-type.js";
export { POSTGRES_MAX_NUMERIC_PRECISION, POSTGRES_MAX_VARCHAR, toPostgresType } from "./type-mapping/to-postgres-type.js";
export { REDSHIFT_MAX_NUMERIC_PRECISION, REDSHIFT_MAX_VARBYTE_BYTES, REDSHIFT_MAX_VARCHAR_BYTES, toRedshiftType } from "./type-mapping/to-redshift-type.js";
export type { IcebergField, IcebergType, ToIcebergTypeOptions } from "./type-mapping/to-iceberg-type.js";
export { ICEBERG_MAX_DECIMAL_PRECISION, fromIcebergType, toIcebergType } from "./type-mapping/to-iceberg-type.js";
export type { OpenSearchFieldMapping } from "./type-mapping/to-opensearch-type.js";
export { OPENSEARCH_EXACT_DIGITS, toOpenSearchType } from "./type-mapping/to-opensearch-type.js";
export type { RefusedChange, SchemaChange, SchemaChangeKind } from "./ddl/schema-change.js";
export { changedColumn } from "./ddl/schema-change.js";
export { isWidening } from "./ddl/is-widening.js";
export type { DiffSchemasOptions } from "./ddl/diff-schemas.js";
export { diffSchemas } from "./ddl/diff-schemas.js";
export type { ApplySchemaChangesOptions } from "./ddl/apply-schema-changes.js";
export { applySchemaChanges } from "./ddl/apply-schema-changes.js";
export type { ChangeOutcome, ClassifiedChange, ClassifyChangesOptions, EvolutionMode, EvolutionPolicy } from "./ddl/classify-changes.js";
export { classifyChanges, variantColumnName, variantTypeTag } from "./ddl/classify-changes.js";
export { quoteIdentifier } from "./ddl/quote-identifier.js";
export { renderPostgresDdl } from "./ddl/postgres-ddl-renderer.js";
export type { RedshiftDdl } from "./ddl/redshift-ddl-renderer.js";
export { renderRedshiftDdl } from "./ddl/redshift-ddl-renderer.js";
export type { IcebergSchema, IcebergSchemaUpdate, IcebergSchemaUpdateOptions } from "./ddl/iceberg-schema-update.js";
export { isIcebergPromotion, renderIcebergSchemaUpdate } from "./ddl/iceberg-schema-update.js";
export type { OpenSearchMappingUpdate } from "./ddl/opensearch-mapping-update.js";
export { renderOpenSearchMappingUpdate } from "./ddl/opensearch-mapping-update.js";
export type {
  ChoosePartitionKeyOptions,
  IcebergPartitionField,
  IcebergTransform,
  PartitionKeyCustom,
  PartitionLayout,
  PartitionStatistics,
  PartitionTarget,
} from "./partition-key/choose-partition-key.js";
export { choosePartitionKey } from "./partition-key/choose-partition-key.js";
export { openSearchDocumentId } from "./partition-key/opensearch-document-id.js";
export { createWildcardMatcher } from "./filter/wildcard-matcher.js";
