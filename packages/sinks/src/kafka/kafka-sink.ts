import type {
  ChangeBatch,
  ChangeEvent,
  PipelineCheckpoint,
  PreflightOptions,
  PreflightReport,
  PrepareChange,
  RejectedRecord,

  Sink,
  SinkCapabilities,
  SinkOpenContext,
  SnapshotChunk,
  SnapshotCopy,
  SnapshotCopyOptions,
  TableRef,
  TableSchema,
  WriteReceipt,
} from "@zero-etl/core";
import { tableKey, ZeroEtlError } from "@zero-etl/core";
import { Admin, compatibilityPartitioner, Producer, stringSerializers, type MessageToProduce } from "@platformatic/kafka";
import { resolveKafkaSinkConfig, kafkaTopicName, type KafkaSinkConfig, type KafkaSinkOptions } from "./kafka-sink-options.js";
import { DebeziumTableEncoder, type DebeziumSourceInfo } from "./debezium-table-encoder.js";
import { schemaChangeEvent, schemaChangeKey } from "./debezium-schema-change.js";
import { readCommittedState } from "./kafka-checkpoint-reader.js";
import { completeFromBefore } from "./update-from-before.js";
import { SnapshotDoneWatcher, distributeSnapshot, type WorkRecord } from "./kafka-snapshot-distributor.js";

/** A record waiting for the next flush; `value` undefined is a tombstone. */
interface Record_ {
  readonly topic: string;
  readonly key?: string | undefined;
  readonly value?: string | undefined;
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Header listing (JSON array) the columns of an update whose new value the source did not send. */
export const UNCHANGED_HEADER = "zeroetl.unchanged";

const CAPABILITIES: SinkCapabilities = {
  nestedData: "native",
  maxIdentifierLength: 249,
  upsert: true,
  transactionalDdl: true,
  checkpointsInTarget: true,
  keylessTables: false,
  renames: true,
};

function kafkaError(action: string, cause: unknown, retryable = true): ZeroEtlError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ZeroEtlError(`kafka: ${action} failed: ${reason}`, { code: "sink-failed", retryable, cause });
}

/** Whether two schemas of a table have the same columns (types, nullability, source types) and key, whatever their versions. */
function sameShape(a: TableSchema, b: TableSchema): boolean {
  return JSON.stringify(a.columns) === JSON.stringify(b.columns) && JSON.stringify(a.primaryKey) === JSON.stringify(b.primaryKey);
}

function alreadyExists(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${JSON.stringify((error as { errors?: unknown }).errors ?? "")} ${String((error as { cause?: unknown }).cause ?? "")}` : String(error);
  return /already exists|TOPIC_ALREADY_EXISTS|TopicExists/i.test(text);
}

/**
 * Writes changes to Kafka as Debezium JSON change events, one topic per
 * table, keyed by primary key; schema changes go to `<prefix>.schema-changes`
 * in order. Each `flush` is one Kafka transaction of an idempotent
 * transactional producer holding the batch's records and the pipeline
 * checkpoint (in the compacted `<prefix>.zeroetl-checkpoints` topic), so a
 * `read_committed` consumer sees a batch whole or not at all and a restart
 * resumes from the checkpoint committed with the last batch it sees.
 */
export class KafkaSink implements Sink {
  readonly kind = "kafka";
  readonly capabilities = CAPABILITIES;
  readonly #config: KafkaSinkConfig;
  readonly #encoders = new Map<string, DebeziumTableEncoder>();
  /** By table: the last schema written to the schema-change topic, with the version it was written with (read back at open). */
  readonly #written = new Map<string, TableSchema>();
  readonly #topics = new Set<string>();
  #pending: Record_[] = [];
  #pendingBytes = 0;
  #admin: Admin | undefined;
  #producer: Producer<string, string, string, string> | undefined;
  #pipeline = "";
  #transactionalId = "";
  /** Snapshots handed out in this run whose range readers must be gone before the streaming checkpoint is committed. */
  #readersOf: SnapshotCopy["exported"][] = [];
  /** Completions of the distributed snapshot, read by one consumer for the run. */
  #watcher: SnapshotDoneWatcher | undefined;

  /** With `distributedSnapshot` only: every table may come as COPY streams, which `copySnapshot` hands out to the workers instead of reading them. */
  readonly acceptsCopy?: () => boolean;
  readonly copySnapshot?: (schema: TableSchema, copy: SnapshotCopy, options?: SnapshotCopyOptions) => Promise<number>;

  constructor(options: KafkaSinkOptions) {
    this.#config = resolveKafkaSinkConfig(options);
    if (this.#config.distributedSnapshot !== undefined) {
      // without it the sink offers no COPY load at all, so the runtime never asks the source for one
      this.acceptsCopy = () => true;
      this.copySnapshot = (schema, copy, options) => this.#distribute(schema, copy, options);
    }
  }

  get #checkpointTopic(): string {
    return `${this.#config.topicPrefix}.zeroetl-checkpoints`;
  }

  get #schemaTopic(): string {
    return `${this.#config.topicPrefix}.schema-changes`;
  }

  get #workTopic(): string {
    return `${this.#config.topicPrefix}.zeroetl-snapshot-work`;
  }

  get #doneTopic(): string {
    return `${this.#config.topicPrefix}.zeroetl-snapshot-done`;
  }

  #newAdmin(): Admin {
    return new Admin({ clientId: this.#config.clientId, bootstrapBrokers: [...this.#config.brokers] });
  }

  async preflight(_options: PreflightOptions): Promise<PreflightReport> {
    const admin = this.#newAdmin();
    try {
      const metadata = await admin.metadata({ topics: [] });
      return { component: "kafka", checks: [{ id: "kafka.brokers", ok: true, message: `reached ${metadata.brokers.size} broker(s)` }] };
    } catch (error) {
      return {
        component: "kafka",
        checks: [{ id: "kafka.brokers", ok: false, message: `no broker of ${this.#config.brokers.join(",")} answered: ${error instanceof Error ? error.message : String(error)}`, remedy: "check target.brokers" }],
      };
    } finally {
      await admin.close();
    }
  }

  async open(context: SinkOpenContext): Promise<PipelineCheckpoint | undefined> {
    this.#pipeline = context.pipeline;
    const admin = this.#newAdmin();
    this.#admin = admin;
    try {
      await this.#createTopic(this.#checkpointTopic, 1, [
        { name: "cleanup.policy", value: "compact" },
      ]);
      await this.#createTopic(this.#schemaTopic, 1, []);
      const distributed = this.#config.distributedSnapshot;
      if (distributed !== undefined) {
        await this.#createTopic(this.#workTopic, distributed.workPartitions, []);
        await this.#createTopic(this.#doneTopic, 1, []);
      }
      this.#transactionalId = this.#config.transactionalId ?? `zeroetl-${context.pipeline}`;
      const state = await readCommittedState(
        { brokers: this.#config.brokers, clientId: this.#config.clientId, topic: this.#checkpointTopic, schemaTopic: this.#schemaTopic },
        admin,
        context.pipeline,
      );
      for (const [key, schema] of state.schemas) this.#written.set(key, schema);
      return state.checkpoint;
    } catch (error) {
      throw error instanceof ZeroEtlError ? error : kafkaError("open", error);
    }
  }

  async #createTopic(topic: string, partitions: number, configs: { name: string; value: string }[]): Promise<void> {
    if (this.#topics.has(topic)) return;
    const admin = this.#admin ?? this.#newAdmin();
    try {
      await admin.createTopics({ topics: [topic], partitions, replicas: this.#config.replicationFactor, configs });
    } catch (error) {
      if (!alreadyExists(error)) throw kafkaError(`creating topic ${topic}`, error);
    }
    this.#topics.add(topic);
  }

  targetSchema(table: TableRef): TableSchema | undefined {
    return this.#encoders.get(tableKey(table))?.schema;
  }

  async prepare(schema: TableSchema, change?: PrepareChange): Promise<void> {
    const key = tableKey(schema.table);
    if (schema.primaryKey.length === 0) {
      throw new ZeroEtlError(`kafka: table ${key} has no primary key; Kafka topics are keyed by it`, { code: "schema-unsupported", table: key });
    }
    const renamed = change?.renamed;
    const last = this.#written.get(key);
    await this.#createTopic(kafkaTopicName(this.#config.topicPrefix, schema.table.namespace, schema.table.name), this.#config.partitions, []);
    if (last !== undefined && renamed === undefined && sameShape(last, schema)) {
      // written before (by this run, or by an earlier one: read back at open): records go on with its version
      if (this.#encoders.get(key)?.schema !== last) this.#encoders.set(key, new DebeziumTableEncoder(last, this.#config.topicPrefix, undefined));
      return;
    }
    // Versions only grow per table: a re-read's schema comes from the source's introspection (version 1) after
    // streamed versions 2, 3…, and a worker applies a schema only when its version is newer than the one it has
    const version = last === undefined ? schema.version : Math.max(schema.version, last.version + 1);
    const stamped: TableSchema = version === schema.version ? schema : { ...schema, version };
    this.#written.set(key, stamped);
    this.#encoders.set(key, new DebeziumTableEncoder(stamped, this.#config.topicPrefix, renamed));
    this.#push({
      topic: this.#schemaTopic,
      partition: 0,
      key: schemaChangeKey(schema.table.namespace),
      value: schemaChangeEvent(this.#config.topicPrefix, stamped, last === undefined ? "CREATE" : "ALTER", renamed, Date.now()),
    });
  }

  async resetTable(_table: TableRef): Promise<void> {
    // Nothing to write. A topic cannot forget records, and a truncate event would race the snapshot rows
    // of the table's other partitions in the consumers; the new snapshot's rows are upserts by key.
  }

  async writeSnapshot(chunk: SnapshotChunk): Promise<WriteReceipt> {
    const encoder = this.#encoder(chunk.table);
    const topic = this.#topicOf(chunk.table);
    const now = Date.now();
    const info: DebeziumSourceInfo = { tsMs: now, snapshot: true, txId: undefined, position: undefined };
    const rejected: RejectedRecord[] = [];
    for (const row of chunk.rows) {
      try {
        this.#push({ topic, key: encoder.key(row), value: encoder.value("r", undefined, row, info, now) });
      } catch (error) {
        rejected.push({ event: { op: "insert", table: chunk.table, position: "snapshot", after: row }, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    return { accepted: chunk.rows.length - rejected.length, rejected };
  }

  /**
   * The distributed snapshot of one table (`copySnapshot`, present only with
   * `distributedSnapshot`): publishes its CTID ranges as work items and
   * resolves when the workers applied all of them (see `distributeSnapshot`).
   * A table the source cannot export for other readers (a partitioned table,
   * a server before PostgreSQL 14) is refused, so the runtime reads it by
   * rows here.
   */
  async #distribute(schema: TableSchema, copy: SnapshotCopy, options?: SnapshotCopyOptions): Promise<number> {
    const distributed = this.#config.distributedSnapshot;
    const exported = copy.exported;
    if (distributed === undefined || exported === undefined) {
      throw new ZeroEtlError(`kafka: ${tableKey(schema.table)} cannot be read by other processes (not a plain PostgreSQL 14+ table); it is read here`, { code: "sink-failed", table: tableKey(schema.table) });
    }
    const encoder = this.#encoder(schema.table);
    // the topic may exist with another partition count than configured (created by an earlier run)
    const admin = this.#admin ?? this.#newAdmin();
    this.#admin = admin;
    const metadata = await admin.metadata({ topics: [this.#workTopic] }).catch((error: unknown) => {
      throw kafkaError(`reading the metadata of ${this.#workTopic}`, error);
    });
    const workPartitions = metadata.topics.get(this.#workTopic)?.partitionsCount ?? distributed.workPartitions;
    this.#readersOf.push(exported);
    this.#watcher ??= new SnapshotDoneWatcher({ brokers: this.#config.brokers, clientId: this.#config.clientId, topic: this.#doneTopic });
    return distributeSnapshot(encoder.schema, exported, {
      watcher: this.#watcher,
      workTopic: this.#workTopic,
      workPartitions,
      chunkBlocks: distributed.chunkBlocks,
      publish: (records) => this.#commitRecords(records.map((r: WorkRecord) => ({ ...r }))),
      logger: this.#config.logger,
      ...(options?.progress === undefined ? {} : { progress: options.progress }),
      ...(options?.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  async write(batch: ChangeBatch): Promise<WriteReceipt> {
    const now = Date.now();
    const rejected: RejectedRecord[] = [];
    for (const event of batch.events) {
      try {
        this.#writeEvent(event, now);
      } catch (error) {
        rejected.push({ event, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    return { accepted: batch.events.length - rejected.length, rejected };
  }

  #writeEvent(event: ChangeEvent, now: number): void {
    if (event.op === "schema") return; // the runtime prepares the new schema; prepare writes the schema-change event
    const encoder = this.#encoder(event.table);
    const topic = this.#topicOf(event.table);
    const info: DebeziumSourceInfo = { tsMs: event.commitTime ?? now, snapshot: false, txId: event.transactionId, position: event.position };
    switch (event.op) {
      case "insert":
        this.#push({ topic, key: encoder.key(event.after), value: encoder.value("c", undefined, event.after, info, now) });
        return;
      case "update": {
        const oldKey = encoder.key(event.key);
        const { after, unchanged } = completeFromBefore(event.after, event.unchanged, event.before);
        const newKey = encoder.key(after);
        const headers = unchanged !== undefined ? { [UNCHANGED_HEADER]: JSON.stringify(unchanged) } : undefined;
        if (oldKey !== newKey) {
          // as Debezium does for a key change: delete + tombstone under the old key, create under the new one
          this.#push({ topic, key: oldKey, value: encoder.value("d", event.before ?? event.key, undefined, info, now) });
          this.#push({ topic, key: oldKey, value: undefined });
          this.#push({ topic, key: newKey, value: encoder.value("c", undefined, after, info, now), ...(headers === undefined ? {} : { headers }) });
          return;
        }
        this.#push({ topic, key: newKey, value: encoder.value("u", event.before, after, info, now), ...(headers === undefined ? {} : { headers }) });
        return;
      }
      case "delete": {
        if (event.match === "columns") throw new ZeroEtlError("kafka: a delete by some of the key columns has no Kafka key", { code: "record-rejected" });
        const key = encoder.key(event.key);
        this.#push({ topic, key, value: encoder.value("d", event.before ?? event.key, undefined, info, now) });
        this.#push({ topic, key, value: undefined });
        return;
      }
      case "truncate":
        this.#push({ topic, partition: 0, value: encoder.value("t", undefined, undefined, info, now) });
        return;
    }
  }

  #encoder(table: TableRef): DebeziumTableEncoder {
    const encoder = this.#encoders.get(tableKey(table));
    if (encoder === undefined) throw new ZeroEtlError(`kafka: ${tableKey(table)} was written before it was prepared`, { code: "internal", table: tableKey(table) });
    return encoder;
  }

  #topicOf(table: TableRef): string {
    return kafkaTopicName(this.#config.topicPrefix, table.namespace, table.name);
  }

  #push(record: Record_): void {
    this.#pending.push(record);
    this.#pendingBytes += (record.value?.length ?? 0) + (record.key?.length ?? 0);
  }

  /**
   * The transactional producer, created on first use and again after a
   * failed flush: a producer whose transaction failed half-way (say, while
   * the broker still aborts the transaction of a killed predecessor with the
   * same transactional id) is not reusable, so it is closed and replaced.
   */
  #producerNow(): Producer<string, string, string, string> {
    if (this.#transactionalId === "") throw new ZeroEtlError("kafka: flush before open", { code: "internal" });
    this.#producer ??= new Producer<string, string, string, string>({
      clientId: this.#config.clientId,
      bootstrapBrokers: [...this.#config.brokers],
      idempotent: true,
      transactionalId: this.#transactionalId,
      // InitProducerId as a new producer (-1/-1): the client's default (0/0) names an old producer and is
      // answered PRODUCER_FENCED once the transactional id exists, e.g. after a crash of the previous run
      producerId: -1n,
      producerEpoch: -1,
      serializers: stringSerializers,
      partitioner: compatibilityPartitioner,
    });
    return this.#producer;
  }

  async flush(checkpoint: PipelineCheckpoint): Promise<void> {
    if (checkpoint.phase === "streaming" && this.#readersOf.length > 0) {
      // the snapshot is over (no worker can import it any more); a range read before must land before the stream does
      for (const exported of this.#readersOf) await exported?.readersGone();
      this.#readersOf = [];
      await this.#watcher?.close();
      this.#watcher = undefined;
    }
    const records = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    records.push({ topic: this.#checkpointTopic, partition: 0, key: this.#pipeline, value: JSON.stringify(checkpoint) });
    await this.#commitRecords(records);
  }

  /** Sends `records` in one Kafka transaction. */
  async #commitRecords(records: Record_[]): Promise<void> {
    const producer = this.#producerNow();
    let transaction;
    try {
      transaction = await producer.beginTransaction();
      let start = 0;
      let bytes = 0;
      for (let i = 0; i < records.length; i++) {
        const r = records[i];
        bytes += (r?.value?.length ?? 0) + (r?.key?.length ?? 0) + 64;
        if (bytes >= this.#config.maxRequestBytes || i === records.length - 1) {
          await transaction.send({ messages: records.slice(start, i + 1) as MessageToProduce<string, string, string, string>[] });
          start = i + 1;
          bytes = 0;
        }
      }
      await transaction.commit();
    } catch (error) {
      if (transaction !== undefined && !transaction.completed) await transaction.abort().catch(() => undefined);
      this.#producer = undefined;
      await producer.close().catch(() => undefined);
      throw kafkaError("committing the batch's transaction", error);
    }
  }

  async close(): Promise<void> {
    await this.#watcher?.close();
    this.#watcher = undefined;
    await this.#producer?.close().catch(() => undefined);
    await this.#admin?.close().catch(() => undefined);
    this.#producer = undefined;
    this.#admin = undefined;
  }
}

/** Creates a {@link KafkaSink}; options are checked here (a {@link ConfigError} names the field). */
export function createKafkaSink(options: KafkaSinkOptions): KafkaSink {
  return new KafkaSink(options);
}

