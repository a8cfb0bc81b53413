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
  SinkTargetStats,
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
import { awsSigv4ClientOptions } from "./opensearch-sigv4-signer.js";
import { documentVersionOf } from "./opensearch-document-version.js";
import { VERSION_FIELD, guardedDelete, guardedIndex } from "./opensearch-guarded-write-encoder.js";
import { openSearchIndexName } from "./opensearch-index-name.js";
import { indexTemplateMatches, openSearchIndexTemplate } from "./opensearch-index-template.js";
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
  /** The name readers use: an alias of the physical index (or, for an index made before aliases, the index itself). */
  readonly alias: string;
  /** The physical index writes go to. */
  readonly index: string;
  /** Set while a rebuild fills `index` behind the alias, which still shows the old one. */
  readonly rebuilding: boolean;
  /** The index was created empty by this sink and nothing was written to it since. */
  readonly fresh: boolean;
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
 * rows. On OpenSearch Serverless (`auth.service: "aoss"`), which has no
 * external versions, the version is stored in the document and each write
 * is a scripted update that keeps a newer one (opensearch-guarded-write-encoder).
 *
 * Layout and rebuilds without downtime: readers use the index name of the
 * template, an alias of a physical index `<name>.zeroetl-<id>`. A re-snapshot
 * (`resetTable`, `replaceTable`) fills a new physical index while the alias
 * still shows the old one, and the last snapshot chunk swaps the alias in one
 * atomic `_aliases` request that also deletes the old index: readers never
 * see a half-empty index.
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
  /**
   * Serverless (`aoss`) has no external versions: the version goes into the
   * document and writes are scripted updates that keep a newer one (see
   * opensearch-guarded-write-encoder). It also manages shards and replicas itself.
   */
  readonly #serverless: boolean;

  constructor(config: OpenSearchSinkConfig) {
    this.#config = config;
    this.#serverless = config.auth?.type === "aws-sigv4" && config.auth.service === "aoss";
    this.#client = new Client({
      node: config.node,
      ...(config.auth === undefined
        ? {}
        : config.auth.type === "basic"
          ? { auth: { username: config.auth.username, password: config.auth.password } }
          : awsSigv4ClientOptions(config.auth)),
      ...(config.tls === undefined ? {} : { ssl: config.tls }),
      maxRetries: 0,
      // the client has no "no limit": 0 becomes the largest timer Node takes
      requestTimeout: config.timeouts.queryMs === 0 ? 2_147_483_647 : config.timeouts.queryMs,
    });
    this.#bulk = new BulkSender(this.#client, {
      maxBytes: config.bulkMaxBytes,
      maxDocuments: config.bulkMaxDocuments,
      maxAttempts: config.maxAttempts,
      logger: config.logger,
    });
  }

  async preflight(options: PreflightOptions): Promise<PreflightReport> {
    const checks: PreflightCheck[] = [];
    if (this.#serverless) {
      // a collection answers no `GET /`: a HEAD on the state index proves the endpoint, the signature and the access policy
      try {
        await this.#client.indices.exists({ index: this.#config.stateIndex });
        checks.push({ id: "opensearch.reachable", ok: true, message: `OpenSearch Serverless collection at ${this.#config.node} answers signed requests` });
      } catch (error) {
        checks.push({
          id: "opensearch.reachable",
          ok: false,
          message: `cannot reach the OpenSearch Serverless collection at ${this.#config.node}: ${redactText((error as Error).message)}`,
          remedy: "check target.node, target.auth.region, the AWS credentials and the collection's data access policy",
        });
        return { component: "opensearch-sink", checks };
      }
      return { component: "opensearch-sink", checks: [...checks, ...(await this.#setupChecks(options.fix))] };
    }
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
        remedy:
          this.#config.auth?.type === "aws-sigv4"
            ? "check target.node, target.auth.region, the AWS credentials (environment, AWS_PROFILE, instance role) and the domain's access policy, and that the domain is up"
            : "check target.node, target.auth and target.tls, and that the cluster is up",
      });
      return { component: "opensearch-sink", checks };
    }
    return { component: "opensearch-sink", checks: [...checks, ...(await this.#setupChecks(options.fix))] };
  }

  async open(context: SinkOpenContext): Promise<PipelineCheckpoint | undefined> {
    this.#pipeline = context.pipeline;
    this.#signal = context.signal;
    try {
      if (!(await this.#stateIndexExists())) await this.#createStateIndex();
      const found = await this.#client.get({ index: this.#config.stateIndex, id: context.pipeline }, { ignore: [404] });
      const body = found.body as { found?: boolean; _source?: { checkpoint?: PipelineCheckpoint } };
      return body.found === true ? body._source?.checkpoint : undefined;
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
      if (other.alias === index && other.key !== key) {
        throw new ZeroEtlError(`tables ${other.key} and ${key} both map to index ${index}; change target.index`, { code: "schema-unsupported", table: key });
      }
    }
    const known = this.#indexes.get(key);
    // during a rebuild the schema applies to the index being filled
    const target = known?.rebuilding === true ? known.index : index;
    try {
      const live = await this.#liveFields(target);
      const wanted = this.#mappingOf(schema);
      if (live === undefined) {
        const physical = await this.#createIndex(index, wanted, true);
        this.#indexes.set(key, { alias: index, index: physical, rebuilding: false, fresh: true, key, schema, encoder: new DocumentEncoder(schema), fields: new Map(Object.entries(wanted)) });
        return;
      }
      const { physical, fields } = live;
      const added: Record<string, SinkFieldMapping> = {};
      const refused: string[] = [];
      for (const [name, mapping] of Object.entries(wanted)) {
        const live = fields.get(name);
        if (live === undefined) added[name] = mapping;
        // OpenSearch reports an object field without a type, only its properties
        else if ((live.type ?? "object") !== mapping.type) {
          refused.push(`column ${name}: the index maps it as ${live.type ?? "object"}, the new type needs ${mapping.type}`);
        }
      }
      if (Object.keys(added).length > 0) {
        await this.#client.transport.request({ method: "PUT", path: `/${encodeURIComponent(physical)}/_mapping`, body: { properties: added } });
        for (const [name, mapping] of Object.entries(added)) fields.set(name, mapping);
        this.#config.logger.info("opensearch mapping extended", { table: key, index, fields: Object.keys(added) });
      }
      this.#indexes.set(key, { alias: index, index: physical, rebuilding: known?.rebuilding ?? false, fresh: known?.fresh ?? false, key, schema, encoder: new DocumentEncoder(schema), fields });
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

  /**
   * Starts a rebuild: the snapshot that follows fills a new physical index,
   * swapped in behind the alias with the last chunk. An index this sink just
   * created empty is kept as it is.
   */
  async resetTable(table: TableRef): Promise<void> {
    const state = this.#state(table);
    if (state.fresh || state.rebuilding) return;
    await this.#rebuild(state, state.schema);
  }

  /** Like {@link resetTable}, with the new index mapped from `schema` (a field type that changed). */
  async replaceTable(schema: TableSchema): Promise<void> {
    const key = tableKey(schema.table);
    let known = this.#indexes.get(key);
    if (known === undefined) {
      // after a restart: the index as it stands, whatever its mapping, is what the rebuild replaces
      const alias = openSearchIndexName(this.#config.index, schema.table);
      const live = await this.#liveFields(alias).catch((error: unknown) => {
        throw this.#wrap(error, `replace ${key}`, key);
      });
      if (live === undefined) return this.prepare(schema);
      known = { alias, index: live.physical, rebuilding: false, fresh: false, key, schema, encoder: new DocumentEncoder(schema), fields: live.fields };
    }
    await this.#rebuild(known, schema);
  }

  async dropTable(table: TableRef): Promise<void> {
    const key = tableKey(table);
    const alias = this.#indexes.get(key)?.alias ?? openSearchIndexName(this.#config.index, table);
    try {
      const physical = await this.#physicalIndexes(alias);
      if (physical.length > 0) await this.#client.transport.request({ method: "DELETE", path: `/${physical.map(encodeURIComponent).join(",")}` }, { ignore: [404] });
    } catch (error) {
      throw this.#wrap(error, `drop ${key}`, key);
    }
    this.#indexes.delete(key);
    this.#config.logger.warn("opensearch index deleted: its source table is gone", { table: key, index: alias });
  }

  /** Each table's alias and its document count (`_count`, as of the last refresh, about a second behind). */
  async describeTargets(tables: readonly TableRef[]): Promise<readonly SinkTargetStats[]> {
    const stats: SinkTargetStats[] = [];
    for (const table of tables) {
      let alias: string;
      try {
        alias = openSearchIndexName(this.#config.index, table);
      } catch {
        continue; // a table whose name makes no index was never written
      }
      try {
        const response = await this.#client.transport.request({ method: "GET", path: `/${encodeURIComponent(alias)}/_count` }, { ignore: [404] });
        const count = (response.body as { count?: number } | undefined)?.count;
        stats.push({ table: tableKey(table), target: alias, rows: response.statusCode === 404 ? undefined : count });
      } catch (error) {
        throw this.#wrap(error, `count ${alias}`, tableKey(table));
      }
    }
    return stats;
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
    if (ops.length > 0) this.#indexes.set(state.key, { ...state, fresh: false });
    if (chunk.last && state.rebuilding) await this.#swap(state);
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
      let state = this.#state(event.table);
      if (state.rebuilding) {
        // changes after a snapshot: the snapshot is complete even if no chunk said `last`
        await sendPending();
        await this.#swap(state);
        state = this.#state(event.table);
      }
      if (event.op === "truncate") {
        await sendPending();
        await this.#rebuild(state, state.schema);
        await this.#swap(this.#state(event.table));
        accepted++;
        continue;
      }
      if (state.fresh) this.#indexes.set(state.key, (state = { ...state, fresh: false }));
      const version = documentVersionOf(event.position);
      const keyColumns = state.schema.primaryKey;
      if (event.op === "delete") {
        if (event.match === "columns") {
          rejected.push({ event, reason: "opensearch sink deletes documents by their full key only (match: columns)" });
          continue;
        }
        ops.push(this.#deleteOp(state, openSearchDocumentId(event.key, keyColumns), version, event));
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
        if (oldId !== id) ops.push(this.#deleteOp(state, oldId, version, event));
      }
      if (this.#serverless && version !== undefined) ops.push({ ...guardedIndex(state.index, id, version, document), event, table: state.key });
      else ops.push({ action: bulkAction("index", state.index, id, version), document, event, table: state.key });
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

  async #stateIndexExists(): Promise<boolean> {
    return (await this.#client.indices.exists({ index: this.#config.stateIndex })).body === true;
  }

  async #createStateIndex(): Promise<void> {
    await this.#client.indices.create(
      {
        index: this.#config.stateIndex,
        body: {
          settings: this.#serverless ? {} : { number_of_shards: 1, number_of_replicas: this.#config.replicas, "index.hidden": true },
          // the checkpoint is stored, never indexed: its table map has arbitrary keys
          mappings: { dynamic: false, properties: { checkpoint: { type: "object", enabled: false }, savedAt: { type: "date" } } },
        },
      },
      // 400: another pipeline created it meanwhile
      { ignore: [400] },
    );
  }

  /** The state index and the index template: present, or (with `fix`) created. */
  async #setupChecks(fix: boolean): Promise<PreflightCheck[]> {
    const checks: PreflightCheck[] = [];
    const state = this.#config.stateIndex;
    try {
      if (await this.#stateIndexExists()) {
        checks.push({ id: "opensearch.state_index", ok: true, message: `state index ${state} exists` });
      } else if (fix) {
        await this.#createStateIndex();
        checks.push({ id: "opensearch.state_index", ok: true, fixable: true, fixed: true, message: `state index ${state} created` });
      } else {
        checks.push({ id: "opensearch.state_index", ok: false, severity: "warning", fixable: true, message: `state index ${state} does not exist`, remedy: "the first run creates it" });
      }
    } catch (error) {
      checks.push({ id: "opensearch.state_index", ok: false, message: `state index ${state} not checked: ${this.#wrap(error, "check state index").message}`, remedy: "check that the user may create and read indices" });
    }
    const wanted = openSearchIndexTemplate(this.#config.index, this.#serverless ? {} : { number_of_shards: this.#config.shards, number_of_replicas: this.#config.replicas });
    const id = "opensearch.index_template";
    try {
      const found = await this.#client.transport.request({ method: "GET", path: `/_index_template/${encodeURIComponent(wanted.name)}` }, { ignore: [404] });
      const installed = (found.body as { index_templates?: { index_template?: unknown }[] } | undefined)?.index_templates?.[0]?.index_template;
      const what = `index template ${wanted.name} (${wanted.body.index_patterns.join(", ")})`;
      if (found.statusCode !== 404 && indexTemplateMatches(installed, wanted)) {
        checks.push({ id, ok: true, message: `${what} is installed` });
      } else if (fix) {
        await this.#client.transport.request({ method: "PUT", path: `/_index_template/${encodeURIComponent(wanted.name)}`, body: wanted.body });
        checks.push({ id, ok: true, fixable: true, fixed: true, message: `${what} ${found.statusCode === 404 ? "created" : "updated"}` });
      } else {
        checks.push({
          id,
          ok: false,
          severity: "warning",
          fixable: true,
          message: `${what} ${found.statusCode === 404 ? "is missing" : "differs from the target settings"}`,
          remedy: "without it the sink still creates each index with its settings; indices made by hand under these names would not get them",
        });
      }
    } catch (error) {
      checks.push({ id, ok: false, severity: "warning", message: `index template not checked: ${this.#wrap(error, "check index template").message}` });
    }
    return checks;
  }

  #deleteOp(state: IndexState, id: string, version: bigint | undefined, event: ChangeEvent): BulkOperation {
    if (this.#serverless && version !== undefined) return { ...guardedDelete(state.index, id, version), event, table: state.key };
    return { action: bulkAction("delete", state.index, id, version), document: undefined, event, table: state.key };
  }

  /** The index properties of a table: its columns, and on Serverless the field of the stored version. */
  #mappingOf(schema: TableSchema): Record<string, SinkFieldMapping> {
    const properties = mappingOf(schema);
    if (!this.#serverless) return properties;
    if (VERSION_FIELD in properties) {
      throw new ZeroEtlError(`table ${tableKey(schema.table)} has a column ${VERSION_FIELD}, the field where the sink keeps each document's version on OpenSearch Serverless`, {
        code: "schema-unsupported",
        table: tableKey(schema.table),
      });
    }
    return { ...properties, [VERSION_FIELD]: { type: "long" } };
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

  /** The physical index behind a name (alias or index) and its field mappings; undefined when neither exists. */
  async #liveFields(name: string): Promise<{ physical: string; fields: Map<string, SinkFieldMapping> } | undefined> {
    const response = await this.#client.indices.getMapping({ index: name }, { ignore: [404] });
    if (response.statusCode === 404) return undefined;
    const entries = Object.entries(response.body as Record<string, { mappings?: { properties?: Record<string, SinkFieldMapping> } }>);
    const first = entries[0];
    if (first === undefined) return undefined;
    if (entries.length > 1) throw new ZeroEtlError(`${name} names ${entries.length} indices; the sink writes to one`, { code: "sink-failed" });
    return { physical: first[0], fields: new Map(Object.entries(first[1].mappings?.properties ?? {})) };
  }

  /** Creates a physical index `<alias>.zeroetl-<id>`, with the alias when `withAlias`; returns its name. */
  async #createIndex(alias: string, properties: Record<string, SinkFieldMapping>, withAlias: boolean): Promise<string> {
    const physical = `${alias}.zeroetl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    await this.#client.transport.request({
      method: "PUT",
      path: `/${encodeURIComponent(physical)}`,
      body: {
        settings: this.#serverless ? {} : { number_of_shards: this.#config.shards, number_of_replicas: this.#config.replicas },
        // strict: a field the table schema does not have is refused (to the dead-letter queue), never guessed
        mappings: { dynamic: "strict", properties },
        ...(withAlias ? { aliases: { [alias]: {} } } : {}),
      },
    });
    this.#config.logger.info("opensearch index created", { index: physical, alias, fields: Object.keys(properties).length });
    return physical;
  }

  /** Creates the new physical index of a rebuild; writes go there until {@link #swap}. */
  async #rebuild(state: IndexState, schema: TableSchema): Promise<void> {
    try {
      // a rebuild left over from a crash is deleted by the swap, with every other index behind the alias
      const wanted = this.#mappingOf(schema);
      const physical = await this.#createIndex(state.alias, wanted, false);
      this.#indexes.set(state.key, { ...state, schema, encoder: new DocumentEncoder(schema), index: physical, rebuilding: true, fresh: false, fields: new Map(Object.entries(wanted)) });
    } catch (error) {
      throw this.#wrap(error, `rebuild ${state.key}`, state.key);
    }
  }

  /** Points the alias at the rebuilt index and deletes the others, in one atomic request. */
  async #swap(state: IndexState): Promise<void> {
    try {
      const old = (await this.#physicalIndexes(state.alias)).filter((name) => name !== state.index);
      await this.#client.transport.request({
        method: "POST",
        path: "/_aliases",
        body: { actions: [...old.map((index) => ({ remove_index: { index } })), { add: { index: state.index, alias: state.alias } }] },
      });
      this.#indexes.set(state.key, { ...state, rebuilding: false });
      this.#config.logger.info("opensearch index rebuilt and swapped in", { table: state.key, alias: state.alias, index: state.index, removed: old });
    } catch (error) {
      throw this.#wrap(error, `swap ${state.key}`, state.key);
    }
  }

  /** The physical indices of a table: the alias's, left-over rebuilds, or an index named like the alias (made before aliases). */
  async #physicalIndexes(alias: string): Promise<string[]> {
    const response = await this.#client.transport.request(
      { method: "GET", path: `/${encodeURIComponent(alias)},${encodeURIComponent(alias)}.zeroetl-*/_alias`, querystring: { ignore_unavailable: "true", allow_no_indices: "true" } },
      { ignore: [404] },
    );
    if (response.statusCode === 404) return [];
    return Object.keys(response.body as Record<string, unknown>);
  }

  #state(table: TableRef): IndexState {
    const state = this.#indexes.get(tableKey(table));
    if (state === undefined) throw new ZeroEtlError(`table ${tableKey(table)} written before prepare`, { code: "internal", table: tableKey(table) });
    return state;
  }

  #wrap(error: unknown, what: string, table?: string): ZeroEtlError {
    if (error instanceof ZeroEtlError) return error;
    const e = error as { message?: string; meta?: { statusCode?: number | null; body?: { error?: { type?: string; reason?: string } } } };
    // a timeout or a refused connection has no HTTP status (the client reports null or 0)
    const status = typeof e.meta?.statusCode === "number" && e.meta.statusCode > 0 ? e.meta.statusCode : undefined;
    const detail = e.meta?.body?.error === undefined ? (e.message ?? String(error)) : `${e.meta.body.error.type ?? ""}: ${e.meta.body.error.reason ?? ""}`;
    const retryable = status === undefined || status === 429 || status >= 500;
    return new ZeroEtlError(`opensearch ${what} failed at ${new URL(this.#config.node).host}${status === undefined ? "" : ` (HTTP ${status})`}: ${redactText(detail)}`, {
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

