import { Client } from "@opensearch-project/opensearch";
import type {
  ChangeBatch,
  ChangeEvent,
  PipelineCheckpoint,
  PreflightCheck,
  PreflightOptions,
  PreflightReport,
  RejectedRecord,

  Sink,
  SinkCapabilities,
  SinkOpenContext,
  SnapshotChunk,
  TableRef,
  TableSchema,
  WriteReceipt,
} from "@zero-etl/core";
import { ZeroEtlError, redactText, tableKey } from "@zero-etl/core";
import { openSearchDocumentId } from "@zero-etl/mappers";
import type { BulkOperation } from "./opensearch-bulk-sender.js";
import { BulkSender, bulkAction } from "./opensearch-bulk-sender.js";
import { DocumentEncoder } from "./opensearch-document-encoder.js";
import type { SinkFieldMapping } from "./opensearch-field-mapping.js";
import { mappingOf } from "./opensearch-field-mapping.js";
import { documentVersionOf } from "./opensearch-document-version.js";
import { openSearchIndexName } from "./opensearch-index-name.js";
import type { OpenSearchSinkConfig, OpenSearchSinkOptions } from "./opensearch-sink-options.js";
import { resolveOpenSearchSinkConfig } from "./opensearch-sink-options.js";

const CAPABILITIES: SinkCapabilities = Object.freeze({
  nestedData: "native",
  maxIdentifierLength: 255,
  upsert: true,
  transactionalDdl: false,
  checkpointsInTarget: true,
  // the document id is the primary key: without one, updates and deletes could not find their document
  keylessTables: false,
  typeWidening: "promotions",
});

/** What the sink knows of one table's index. */
interface IndexState {
  readonly index: string;
  readonly key: string;
  readonly schema: TableSchema;
  readonly encoder: DocumentEncoder;
  /** Field mappings the index has, by field. */
  readonly fields: Map<string, SinkFieldMapping>;
}

/**
 * Creates the OpenSearch sink: one document per source row in an index per
 * table (`target.index`), the id from the primary key
 * (`openSearchDocumentId`).
 *
 * Order and replays: every change is written with the source position as an
 * external version (`version_type=external_gte`, see
 * {@link documentVersionOf}), so a replay after a crash or a retried older
 * write can never take a document back; OpenSearch answers it with a version
 * conflict, which counts as done. Snapshot rows are written without a
 * version: a snapshot follows a `resetTable` and is the newest state of its
 * rows.
 *
 * Writes go out in `write`/`writeSnapshot` (so refused documents come back in
 * the receipt); `flush` then stores the checkpoint in the state index
 * (`zeroetl_state`, hidden; document id = the pipeline), only after every bulk before
 * it succeeded.
 */
export function createOpenSearchSink(options: OpenSearchSinkOptions): Sink {
  return new OpenSearchSink(resolveOpenSearchSinkConfig(options));
}

class OpenSearchSink implements Sink {
  readonly kind = "opensearch";
  readonly capabilities = CAPABILITIES;
  readonly #config: OpenSearchSinkConfig;
  readonly #client: Client;
  readonly #bulk: BulkSender;
  readonly #indexes = new Map<string, IndexState>();
  #pipeline = "";
  #signal: AbortSignal | undefined;

  constructor(config: OpenSearchSinkConfig) {
    this.#config = config;
    this.#client = new Client({
      node: config.node,
      ...(config.auth === undefined ? {} : { auth: { username: config.auth.username, password: config.auth.password } }),
      ...(config.tls === undefined ? {} : { ssl: config.tls }),
      maxRetries: 0,
      requestTimeout: 120_000,
    });
    this.#bulk = new BulkSender(this.#client, {
      maxBytes: config.bulkMaxBytes,
      maxDocuments: config.bulkMaxDocuments,
      maxAttempts: config.maxAttempts,
      logger: config.logger,
    });
  }

  async preflight(_options: PreflightOptions): Promise<PreflightReport> {
    const checks: PreflightCheck[] = [];
    try {
      const info = (await this.#client.info()).body as { version?: { number?: string; distribution?: string } };
      const version = info.version?.number ?? "unknown";
      const major = Number.parseInt(version, 10);
      const supported = info.version?.distribution === "opensearch" && major >= 2;
      checks.push({
        id: "opensearch.version",
        ok: supported,
        message: `${info.version?.distribution ?? "elasticsearch"} ${version} at ${this.#config.node}`,
        ...(supported ? {} : { remedy: "use OpenSearch 2.x or newer (flat_object and external_gte versioning are needed)" }),
      });
    } catch (error) {
      checks.push({
        id: "opensearch.reachable",
        ok: false,
        message: `cannot reach OpenSearch at ${this.#config.node}: ${redactText((error as Error).message)}`,
        remedy: "check target.node, target.auth and target.tls, and that the cluster is up",
      });
    }
    return { component: "opensearch-sink", checks };
  }

  async open(context: SinkOpenContext): Promise<PipelineCheckpoint | undefined> {
    this.#pipeline = context.pipeline;
    this.#signal = context.signal;
    try {
      const exists = await this.#client.indices.exists({ index: this.#config.stateIndex });
      if (exists.body !== true) {
        await this.#client.indices.create(
          {
            index: this.#config.stateIndex,
            body: {
              settings: { number_of_shards: 1, number_of_replicas: this.#config.replicas, "index.hidden": true },
              // the checkpoint is stored, never indexed: its table map has arbitrary keys
              mappings: { dynamic: false, properties: { checkpoint: { type: "object", enabled: false }, savedAt: { type: "date" } } },
            },
          },
          // 400: another pipeline created it meanwhile
          { ignore: [400] },
        );
      }
      const found = await this.#client.get({ index: this.#config.stateIndex, id: context.pipeline }, { ignore: [404] });
      const source = (found.body as { found?: boolean; _source?: { checkpoint?: PipelineCheckpoint } }).found === true ? (found.body as { _source?: { checkpoint?: PipelineCheckpoint } })._source : undefined;
      return source?.checkpoint;
    } catch (error) {
      throw this.#wrap(error, "open");
    }
  }

  async prepare(schema: TableSchema): Promise<void> {
    const key = tableKey(schema.table);
    if (schema.primaryKey.length === 0) {
      throw new ZeroEtlError(`table ${key} has no primary key; an OpenSearch document needs one for its id`, { code: "schema-unsupported", table: key });
    }
    const index = openSearchIndexName(this.#config.index, schema.table);
    for (const other of this.#indexes.values()) {
      if (other.index === index && other.key !== key) {
        throw new ZeroEtlError(`tables ${other.key} and ${key} both map to index ${index}; change target.index`, { code: "schema-unsupported", table: key });
      }
    }
    try {
      const fields = await this.#liveFields(index);
      const wanted = mappingOf(schema);
      if (fields === undefined) {
        await this.#createIndex(index, wanted);
        this.#indexes.set(key, { index, key, schema, encoder: new DocumentEncoder(schema), fields: new Map(Object.entries(wanted)) });
        return;
      }
      const added: Record<string, SinkFieldMapping> = {};
      const refused: string[] = [];
      for (const [name, mapping] of Object.entries(wanted)) {
        const live = fields.get(name);
        if (live === undefined) added[name] = mapping;
        else if (live.type !== mapping.type && !(live.type === "object" && mapping.type === "object")) {
          refused.push(`column ${name}: the index maps it as ${live.type}, the new type needs ${mapping.type}`);
        }
      }
      if (Object.keys(added).length > 0) {
        await this.#client.transport.request({ method: "PUT", path: `/${encodeURIComponent(index)}/_mapping`, body: { properties: added } });
        for (const [name, mapping] of Object.entries(added)) fields.set(name, mapping);
        this.#config.logger.info("opensearch mapping extended", { table: key, index, fields: Object.keys(added) });
      }
      this.#indexes.set(key, { index, key, schema, encoder: new DocumentEncoder(schema), fields });
      if (refused.length > 0) {
        throw new ZeroEtlError(`schema change of ${key} (version ${schema.version}) not applied: ${refused.join("; ")}; an OpenSearch field mapping cannot change, the index must be rebuilt`, {
          code: "schema-refused",
          table: key,
        });
      }
    } catch (error) {
      throw this.#wrap(error, `prepare ${key}`, key);
    }
  }

  async resetTable(table: TableRef): Promise<void> {
    const state = this.#state(table);
    try {
      // deleting the index also forgets delete tombstones and versions of the old rows
      await this.#client.indices.delete({ index: state.index }, { ignore: [404] });
      await this.#createIndex(state.index, mappingOf(state.schema));
      this.#indexes.set(state.key, { ...state, fields: new Map(Object.entries(mappingOf(state.schema))) });
    } catch (error) {
      throw this.#wrap(error, `reset ${state.key}`, state.key);
    }
  }

  async replaceTable(schema: TableSchema): Promise<void> {
    await this.dropTable(schema.table);
    await this.prepare(schema);
  }

  async dropTable(table: TableRef): Promise<void> {
    const key = tableKey(table);
    const index = this.#indexes.get(key)?.index ?? openSearchIndexName(this.#config.index, table);
    try {
      await this.#client.indices.delete({ index }, { ignore: [404] });
    } catch (error) {
      throw this.#wrap(error, `drop ${key}`, key);
    }
    this.#indexes.delete(key);
    this.#config.logger.warn("opensearch index deleted: its source table is gone or is rebuilt", { table: key, index });
  }

  async writeSnapshot(chunk: SnapshotChunk): Promise<WriteReceipt> {
    const state = this.#state(chunk.table);
    const ops: BulkOperation[] = [];
    for (const row of chunk.rows) {
      const id = openSearchDocumentId(row, state.schema.primaryKey);
      const event: ChangeEvent = { op: "insert", table: chunk.table, position: "", after: row };
      ops.push({ action: bulkAction("index", state.index, id, undefined), document: state.encoder.encode(row), event, table: state.key });
    }
    const rejected = await this.#send(ops);
    return { accepted: chunk.rows.length - rejected.length, rejected };
  }

  async write(batch: ChangeBatch): Promise<WriteReceipt> {
    const rejected: RejectedRecord[] = [];
    let ops: BulkOperation[] = [];
    let accepted = 0;
    const sendPending = async (): Promise<void> => {
      if (ops.length === 0) return;
      rejected.push(...(await this.#send(ops)));
      ops = [];
    };
    for (const event of batch.events) {
      if (event.op === "schema") {
        await sendPending();
        await this.prepare(event.schema);
        continue;
      }
      const state = this.#state(event.table);
      if (event.op === "truncate") {
        await sendPending();
        await this.resetTable(event.table);
        accepted++;
        continue;
      }
      const version = documentVersionOf(event.position);
      const keyColumns = state.schema.primaryKey;
      if (event.op === "delete") {
        if (event.match === "columns") {
          rejected.push({ event, reason: "opensearch sink deletes documents by their full key only (match: columns)" });
          continue;
        }
        ops.push({ action: bulkAction("delete", state.index, openSearchDocumentId(event.key, keyColumns), version), document: undefined, event, table: state.key });
        accepted++;
        continue;
      }
      const id = openSearchDocumentId(event.after, keyColumns);
      let document = state.encoder.encode(event.after);
      if (event.op === "update") {
        const oldId = openSearchDocumentId(event.key, keyColumns);
        if (event.unchanged !== undefined && event.unchanged.length > 0) {
          // values the source did not resend (unchanged TOAST): take them from the document as it stands
          await sendPending();
          document = await this.#withCurrentFields(state, oldId, event.unchanged, document);
        }
        if (oldId !== id) ops.push({ action: bulkAction("delete", state.index, oldId, version), document: undefined, event, table: state.key });
      }
      ops.push({ action: bulkAction("index", state.index, id, version), document, event, table: state.key });
      accepted++;
    }
    await sendPending();
    return { accepted: accepted - countRejectedEvents(rejected), rejected };
  }

  async flush(checkpoint: PipelineCheckpoint): Promise<void> {
    try {
      // every bulk before this call has succeeded (write sends them); the checkpoint follows the data
      await this.#client.index({
        index: this.#config.stateIndex,
        id: this.#pipeline === "" ? checkpoint.pipeline : this.#pipeline,
        body: { checkpoint, savedAt: checkpoint.savedAt },
      });
    } catch (error) {
      throw this.#wrap(error, "flush checkpoint");
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async #send(ops: readonly BulkOperation[]): Promise<RejectedRecord[]> {
    try {
      return await this.#bulk.send(ops, this.#signal);
    } catch (error) {
      throw this.#wrap(error, "bulk");
    }
  }

  async #withCurrentFields(state: IndexState, id: string, columns: readonly string[], document: string): Promise<string> {
    const found = await this.#client.get({ index: state.index, id, _source_includes: [...columns] }, { ignore: [404] });
    const source = (found.body as { _source?: Record<string, unknown> })._source;
    if (source === undefined) return document;
    let extra = "";
    for (const column of columns) {
      if (!(column in source)) continue;
      extra += `,${JSON.stringify(column)}:${JSON.stringify(source[column])}`;
    }
    if (extra === "") return document;
    return document === "{}" ? `{${extra.slice(1)}}` : `${document.slice(0, -1)}${extra}}`;
  }

  async #liveFields(index: string): Promise<Map<string, SinkFieldMapping> | undefined> {
    const response = await this.#client.indices.getMapping({ index }, { ignore: [404] });
    if (response.statusCode === 404) return undefined;
    const body = response.body as Record<string, { mappings?: { properties?: Record<string, SinkFieldMapping> } }>;
    const properties = body[index]?.mappings?.properties ?? {};
    return new Map(Object.entries(properties));
  }

  async #createIndex(index: string, properties: Record<string, SinkFieldMapping>): Promise<void> {
    await this.#client.transport.request({
      method: "PUT",
      path: `/${encodeURIComponent(index)}`,
      body: {
        settings: { number_of_shards: this.#config.shards, number_of_replicas: this.#config.replicas },
        // strict: a field the table schema does not have is refused (to the dead-letter queue), never guessed
        mappings: { dynamic: "strict", properties },
      },
    });
    this.#config.logger.info("opensearch index created", { index, fields: Object.keys(properties).length });
  }

  #state(table: TableRef): IndexState {
    const state = this.#indexes.get(tableKey(table));
    if (state === undefined) throw new ZeroEtlError(`table ${tableKey(table)} written before prepare`, { code: "internal", table: tableKey(table) });
    return state;
  }

  #wrap(error: unknown, what: string, table?: string): ZeroEtlError {
    if (error instanceof ZeroEtlError) return error;
    const e = error as { message?: string; meta?: { statusCode?: number; body?: { error?: { type?: string; reason?: string } } } };
    const status = e.meta?.statusCode;
    const detail = e.meta?.body?.error === undefined ? (e.message ?? String(error)) : `${e.meta.body.error.type ?? ""}: ${e.meta.body.error.reason ?? ""}`;
    const retryable = status === undefined || status === 429 || status >= 500;
    return new ZeroEtlError(`opensearch ${what} failed${status === undefined ? "" : ` (HTTP ${status})`}: ${redactText(detail)}`, {
      code: "sink-failed",
      retryable,
      cause: error,
      ...(table === undefined ? {} : { table }),
    });
  }
}

/** Events rejected, counting a key change's two operations once. */
function countRejectedEvents(rejected: readonly RejectedRecord[]): number {
  return new Set(rejected.map((r) => r.event)).size;
}

