import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type {
  ChangeBatch,
  ChangeEvent,
  PreflightOptions,
  PreflightReport,
  RejectedRecord,
  SnapshotChunk,
  SnapshotOptions,
  SnapshotSession,
  Source,
  SourceCapabilities,
  StreamOptions,
  TableRef,
  TableSchema,
} from "@zero-etl/core";
import { tableKey, ZeroEtlError } from "@zero-etl/core";
import { Admin, Consumer, FetchIsolationLevels, stringDeserializers, type Message, type MessagesStream } from "@platformatic/kafka";
import { resolveKafkaSourceConfig, type KafkaSourceConfig, type KafkaSourceOptions } from "./kafka-source-options.js";
import { kafkaPositionCodec } from "./kafka-position-codec.js";
import { quoteLongIntegers, splitEnvelope } from "./debezium-json-text.js";
import { DebeziumTableDecoder, type ConnectSchemaJson } from "./debezium-table-decoder.js";
import { parseSnapshotWorkItem, snapshotWorkTopics, tableTopicOf, unsubscribedTopicError, type SnapshotWorkItem } from "./kafka-snapshot-work.js";
import { SnapshotCompletions } from "./kafka-snapshot-completions.js";

type KafkaMessage = Message<string, string, string, string>;

/** Header (JSON array) the Kafka sink sets on an update whose listed columns the source did not send. */
const UNCHANGED_HEADER = "zeroetl.unchanged";
const CAPABILITIES: SourceCapabilities = { beforeImage: "configurable", transactions: false, schemaChanges: true, truncate: true };
const IDLE_MS = 200;
/** How often a worker reading by `topicPrefix` looks for table topics created after it joined (a table created at the source). */
const TOPIC_CHECK_MS = 5_000;
const MAX_DECODERS = 1000;

interface EnvelopePayload {
  readonly op?: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly source?: { readonly schema?: string; readonly db?: string; readonly table?: string; readonly ts_ms?: number | string; readonly txId?: string | number | null };
}

/** Closes a consumer, leaving its group at once; errors of a connection already gone are ignored. */
function closeConsumer(consumer: Consumer<string, string, string, string>): Promise<void> {
  return new Promise((resolve) => consumer.close(true, () => resolve()));
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Reads Debezium JSON change events (as the Kafka sink writes them, or as
 * Debezium does) from Kafka topics as one member of a consumer group, with
 * `read_committed`, and turns them back into change events for any sink.
 *
 * Offsets are committed to the group only in `acknowledge`, that is after
 * the sink made the batch durable; a worker that dies leaves its partitions
 * to the others, which replay from the last committed offsets (sinks apply
 * by key, so the replay converges). A table's schema comes with its records:
 * the first record of a table in this process, and the first of each newer
 * schema version, is preceded by a `schema` event, so schema changes reach
 * the sink in order with the rows of their table.
 */
export class KafkaSource implements Source {
  readonly kind = "kafka";
  readonly capabilities = CAPABILITIES;
  readonly positions = kafkaPositionCodec;
  readonly #config: KafkaSourceConfig;
  readonly #decoders = new Map<string, DebeziumTableDecoder>();
  readonly #applied = new Map<string, TableSchema>();
  /** By table: the column renames (old name -> new name) of the schemas sent, for records of older versions. */
  readonly #renames = new Map<string, Map<string, string>>();
  readonly #keyFields = new Map<string, readonly string[]>();
  readonly #versions = new Map<string, number>();
  /** Next offset to read per `topic:partition` this worker delivered records of. */
  readonly #next = new Map<string, bigint>();
  #seq = 0n;
  /** This source's run, named in the checkpoints it takes at the end of its partitions. */
  readonly #run = randomUUID();
  #consumer: Consumer<string, string, string, string> | undefined;
  /** The assignment the ownership below was computed from (the client replaces the array on every change). */
  #assignmentSeen: unknown;
  #ownedNow = new Set<string>();
  /** The assignment whose partitions' last stable offsets `#ends` holds (listed once per assignment). */
  #endsOf: unknown;
  #ends = new Map<string, bigint>();
  /** Partitions newly given to this worker, held back until this time (ms): see `handoverGraceMs`. */
  readonly #heldUntil = new Map<string, number>();
  /** The distributed snapshot's work topic, when this worker takes part. */
  readonly #workTopic: string | undefined;
  readonly #completions: SnapshotCompletions | undefined;

  constructor(options: KafkaSourceOptions) {
    this.#config = resolveKafkaSourceConfig(options);
    const prefix = this.#config.topicPrefix;
    if (this.#config.distributedSnapshot !== undefined && prefix !== undefined) {
      const topics = snapshotWorkTopics(prefix);
      this.#workTopic = topics.work;
      this.#completions = new SnapshotCompletions({
        brokers: this.#config.brokers,
        clientId: this.#config.clientId,
        topic: topics.done,
        worker: `${hostname()}:${process.pid}`,
        logger: this.#config.logger,
      });
    }
  }

  #admin(): Admin {
    return new Admin({ clientId: this.#config.clientId, bootstrapBrokers: [...this.#config.brokers] });
  }

  async introspect(): Promise<readonly TableSchema[]> {
    // tables and their schemas arrive with the records
    return [];
  }

  async preflight(_options: PreflightOptions): Promise<PreflightReport> {
    const admin = this.#admin();
    try {
      const topics = await this.#topics(admin);
      return {
        component: "kafka",
        checks: [{ id: "kafka.topics", ok: topics.length > 0, message: `${topics.length} topic(s) to read: ${topics.slice(0, 5).join(", ")}`, remedy: "check source.topics or source.topicPrefix" }],
      };
    } catch (error) {
      return { component: "kafka", checks: [{ id: "kafka.brokers", ok: false, message: `no broker answered: ${errorText(error)}`, remedy: "check source.brokers" }] };
    } finally {
      await admin.close();
    }
  }

  async #topics(admin: Admin): Promise<string[]> {
    if (this.#config.topics !== undefined) return [...this.#config.topics];
    const prefix = `${this.#config.topicPrefix ?? ""}.`;
    const all = await admin.listTopics();
    const own = new Set(["schema-changes", "zeroetl-checkpoints", "zeroetl-snapshot-work", "zeroetl-snapshot-done"].map((t) => `${prefix}${t}`));
    const tables = all.filter((t) => t.startsWith(prefix) && !own.has(t)).sort();
    // the work topic is read like the others, so that work items are claimed by partition assignment
    if (this.#workTopic !== undefined && all.includes(this.#workTopic)) tables.push(this.#workTopic);
    return tables;
  }

  async snapshot(_options: SnapshotOptions): Promise<SnapshotSession> {
    // the producing pipeline's snapshot is in the topics already (op "r"): a worker only streams
    async function* none(): AsyncIterable<SnapshotChunk> {}
    return { position: this.#checkpoint(), schemas: [], chunks: none() };
  }

  #checkpoint(atEnd = false): string {
    const offsets: Record<string, string> = {};
    for (const [partition, offset] of this.#next) offsets[partition] = String(offset);
    return kafkaPositionCodec.serialize({ kind: "checkpoint", seq: this.#seq, offsets, ...(atEnd ? { atEndOf: this.#run } : {}) });
  }

  async *stream(from: string, options: StreamOptions): AsyncIterable<ChangeBatch> {
    const start = kafkaPositionCodec.parse(from);
    if (start.kind === "checkpoint" && start.seq > this.#seq) this.#seq = start.seq;
    // A new stream replays from a checkpoint (after a table was set aside, the runtime drops what it applied since,
    // schemas prepared in the failed flush too): every table's schema goes to the sink again before its rows
    this.#applied.clear();
    const admin = this.#admin();
    let topics: string[];
    try {
      topics = await this.#topics(admin);
    } finally {
      await admin.close();
    }
    if (topics.length === 0) throw new ZeroEtlError("kafka: no topic to read (source.topics / source.topicPrefix)", { code: "source-failed", retryable: true });
    const consumer = new Consumer<string, string, string, string>({
      clientId: this.#config.clientId,
      groupId: this.#config.group,
      bootstrapBrokers: [...this.#config.brokers],
      groupProtocol: "consumer",
      deserializers: stringDeserializers,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: IDLE_MS,
    });
    this.#consumer = consumer;
    const queue: KafkaMessage[] = [];
    let failure: unknown;
    let wake: (() => void) | undefined;
    const rouse = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    let stream: MessagesStream<string, string, string, string>;
    try {
      stream = await consumer.consume({ topics, mode: "committed", fallbackMode: "earliest", autocommit: false });
    } catch (error) {
      await closeConsumer(consumer);
      throw new ZeroEtlError(`kafka: joining group ${this.#config.group} failed: ${errorText(error)}`, { code: "source-failed", retryable: true, cause: error });
    }
    const max = this.#config.maxBatchRecords;
    stream.on("data", (message: KafkaMessage) => {
      queue.push(message);
      if (queue.length >= 2 * max) stream.pause();
      rouse();
    });
    stream.on("error", (error: unknown) => {
      failure = error;
      rouse();
    });
    const onAbort = (): void => rouse();
    options.signal?.addEventListener("abort", onAbort);
    let topicsCheckedAt = Date.now();
    try {
      while (options.signal?.aborted !== true) {
        if (this.#config.topics === undefined && Date.now() - topicsCheckedAt >= TOPIC_CHECK_MS) {
          topicsCheckedAt = Date.now();
          await this.#rejoinForNewTopics(topics);
        }
        if (queue.length === 0 && failure === undefined) {
          const idle = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => {
              wake = undefined;
              resolve(true);
            }, IDLE_MS);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          if (idle && queue.length === 0) {
            const atEnd = await this.#atEnd(stream);
            // at the end, a checkpoint marked so: `--until-caught-up` (which waits for `currentPosition`) stops there
            yield atEnd ? { events: [], checkpoint: this.#checkpoint(true), caughtUp: true } : { events: [], caughtUp: false };
            continue;
          }
        }
        if (failure !== undefined) throw new ZeroEtlError(`kafka: consuming failed: ${errorText(failure)}`, { code: "source-failed", retryable: true, cause: failure });
        const now = Date.now();
        this.#refreshOwnership(now);
        const taken = this.#deliverable(queue, max, now);
        if (stream.isPaused() && queue.length < max) stream.resume();
        if (taken.length === 0 && queue.length > 0) {
          // only records of partitions still held back: wait for their hand-over to pass
          await sleep(Math.min(IDLE_MS, Math.max(10, this.#nextRelease(now) - now)), options.signal);
          continue;
        }
        if (taken.length === 0) continue;
        const work = this.#workTopic === undefined ? [] : taken.filter((m) => m.topic === this.#workTopic);
        const records = work.length === 0 ? taken : taken.filter((m) => m.topic !== this.#workTopic);
        if (records.length > 0) {
          const events: ChangeEvent[] = [];
          const rejected: RejectedRecord[] = [];
          for (const message of records) this.#decode(message, events, rejected);
          this.#seq += 1n;
          const atEnd = queue.length === 0 && work.length === 0 && (await this.#atEnd(stream));
          const batch: ChangeBatch = { events, checkpoint: this.#checkpoint(atEnd), caughtUp: atEnd };
          yield rejected.length > 0 ? { ...batch, rejected } : batch;
        }
        for (const message of work) yield* this.#readWorkItem(message, new Set(topics));
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      await stream.close().catch(() => undefined);
      await closeConsumer(consumer);
      if (this.#consumer === consumer) this.#consumer = undefined;
    }
  }

  /**
   * Whether this worker read everything its partitions held: it has an
   * assignment (so it joined its group) and every assigned partition's
   * fetch position reached the partition's last stable offset listed after
   * that assignment (`read_committed`). What `--until-caught-up` waits for;
   * a worker without partitions is never caught up.
   */
  async #atEnd(stream: MessagesStream<string, string, string, string>): Promise<boolean> {
    const assignments = this.#consumer?.assignments;
    if (assignments === undefined || assignments === null || assignments.every((a) => a.partitions.length === 0)) return false;
    if (this.#endsOf !== assignments) {
      const admin = this.#admin();
      try {
        const listed = await admin.listOffsets({
          topics: assignments.map((a) => ({ name: a.topic, partitions: a.partitions.map((p) => ({ partitionIndex: p, timestamp: -1n })) })),
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        });
        const ends = new Map<string, bigint>();
        for (const t of listed) for (const p of t.partitions) ends.set(`${t.name}:${p.partitionIndex}`, p.offset);
        this.#ends = ends;
        this.#endsOf = assignments;
      } catch {
        return false; // asked again at the next idle turn
      } finally {
        await admin.close().catch(() => undefined);
      }
    }
    for (const [partition, end] of this.#ends) if (end > 0n && (stream.offsetsToFetch.get(partition) ?? 0n) < end) return false;
    return true;
  }

  /**
   * Throws a retried source error (the runtime makes what it applied durable
   * and opens the stream again, so the group is joined with every topic)
   * when a table topic under the prefix appeared since `subscribed` was
   * listed: a table created at the source while this worker runs. A broker
   * that does not answer the listing is left to the consumer's own errors.
   */
  async #rejoinForNewTopics(subscribed: readonly string[]): Promise<void> {
    const admin = this.#admin();
    let now: string[];
    try {
      now = await this.#topics(admin);
    } catch {
      return;
    } finally {
      await admin.close().catch(() => undefined);
    }
    const known = new Set(subscribed);
    const added = now.find((t) => !known.has(t));
    if (added !== undefined) throw unsubscribedTopicError(added);
  }

  /**
   * Reads one work item of a distributed snapshot: its range of the table,
   * inside the capture run's exported snapshot, as insert events (upserts by
   * key in every sink, so a range read again after a crash converges), in
   * batches whose checkpoints keep the work partition's offset before the
   * item until its last rows; the item's completion is published once that
   * offset is acknowledged, that is once its rows are durable. An item whose
   * snapshot can no longer be imported (its capture run finished or
   * abandoned it) is acknowledged without rows, as `stale`.
   */
  async *#readWorkItem(message: KafkaMessage, subscribed: ReadonlySet<string>): AsyncGenerator<ChangeBatch> {
    const partition = `${message.topic}:${message.partition}`;
    const position = `${partition}:${message.offset}`;
    const distributed = this.#config.distributedSnapshot;
    const completions = this.#completions;
    if (distributed === undefined || completions === undefined) return;
    let item: SnapshotWorkItem;
    try {
      item = parseSnapshotWorkItem(message.value);
    } catch (error) {
      this.#next.set(partition, message.offset + 1n);
      this.#seq += 1n;
      const table = { namespace: "kafka", name: message.topic };
      yield { events: [], checkpoint: this.#checkpoint(), rejected: [{ event: { op: "insert", table, position, after: {} }, reason: `kafka record ${position}: ${errorText(error)}` }] };
      return;
    }
    const table = item.schema.table;
    const topic = tableTopicOf(this.#config.topicPrefix ?? "", table);
    // the table's changes follow its snapshot in its topic: a worker that applies the rows must read the topic too
    if (!subscribed.has(topic)) throw unsubscribedTopicError(topic);
    const { openSnapshotRange } = await import("../postgres/postgres-snapshot-range-reader.js");
    const reader = await openSnapshotRange({
      connection: { url: distributed.sourceUrl, ssl: distributed.ssl },
      snapshot: item.snapshot,
      relationOid: item.relationOid,
      table,
      fromBlock: item.fromBlock,
      toBlock: item.toBlock,
      columns: item.schema.columns.map((c) => c.name),
      pageRows: this.#config.maxBatchRecords,
    });
    if ("notImportable" in reader) {
      // usually the capture run finished or abandoned the snapshot; while it still waits, the URL is wrong (it says so)
      this.#config.logger.info("kafka: snapshot chunk skipped: its snapshot is over", { table: tableKey(table), batch: item.batch, item: item.item, reason: reader.notImportable });
      this.#next.set(partition, message.offset + 1n);
      this.#seq += 1n;
      completions.finished({ partition, offset: message.offset, item, rows: 0, status: "stale", reader: undefined });
      yield { events: [], checkpoint: this.#checkpoint() };
      return;
    }
    let handed = false;
    try {
      const key = tableKey(table);
      const applied = this.#applied.get(key);
      let events: ChangeEvent[] = [];
      if (applied === undefined || item.schema.version > applied.version) {
        this.#applied.set(key, item.schema);
        events.push({ op: "schema", table, position, schema: item.schema, ...(applied === undefined ? {} : { previous: applied }) });
      }
      let rows = 0;
      for await (const page of reader.pages()) {
        for (const after of page) events.push({ op: "insert", table, position, after });
        rows += page.length;
        this.#seq += 1n;
        yield { events, checkpoint: this.#checkpoint(), caughtUp: false };
        events = [];
      }
      this.#next.set(partition, message.offset + 1n);
      this.#seq += 1n;
      completions.finished({ partition, offset: message.offset, item, rows, status: "done", reader });
      handed = true;
      this.#config.logger.info("kafka: snapshot chunk read", { table: key, batch: item.batch, item: item.item, rows });
      yield { events, checkpoint: this.#checkpoint() };
    } finally {
      // a range broken off is read again by whoever owns the partition next
      if (!handed) await reader.close();
    }
  }

  /**
   * Follows the group's assignment. A partition newly assigned is held back
   * for `handoverGraceMs`: its previous owner may still be flushing records
   * of it that it took before the revocation, and applying newer records of
   * the same keys before that flush lands would let the older flush win. A
   * partition taken away is forgotten, with its records not yet delivered.
   */
  #refreshOwnership(now: number): void {
    const assignments = this.#consumer?.assignments;
    if (assignments === this.#assignmentSeen) return;
    this.#assignmentSeen = assignments;
    const owned = this.#owned();
    for (const partition of owned) if (!this.#ownedNow.has(partition)) this.#heldUntil.set(partition, now + this.#config.handoverGraceMs);
    for (const partition of this.#ownedNow) {
      if (owned.has(partition)) continue;
      this.#next.delete(partition);
      this.#heldUntil.delete(partition);
    }
    this.#ownedNow = owned;
    this.#config.logger.info("kafka: partitions assigned", { partitions: [...owned].sort() });
  }

  /** Takes up to `max` records of owned partitions not held back from `queue`, in order; records of partitions no longer owned are dropped. */
  #deliverable(queue: KafkaMessage[], max: number, now: number): KafkaMessage[] {
    const taken: KafkaMessage[] = [];
    let kept = 0;
    for (let i = 0; i < queue.length; i++) {
      const m = queue[i];
      if (m === undefined) continue;
      const partition = `${m.topic}:${m.partition}`;
      if (!this.#ownedNow.has(partition)) continue;
      const held = this.#heldUntil.get(partition);
      if (taken.length >= max || (held !== undefined && held > now)) {
        queue[kept++] = m;
        continue;
      }
      if (held !== undefined) this.#heldUntil.delete(partition);
      taken.push(m);
    }
    queue.length = kept;
    return taken;
  }

  #nextRelease(now: number): number {
    let next = now + IDLE_MS;
    for (const until of this.#heldUntil.values()) if (until < next) next = until;
    return next;
  }

  #owned(): Set<string> {
    const owned = new Set<string>();
    for (const a of this.#consumer?.assignments ?? []) for (const p of a.partitions) owned.add(`${a.topic}:${p}`);
    return owned;
  }

  #decode(message: KafkaMessage, events: ChangeEvent[], rejected: RejectedRecord[]): void {
    const partition = `${message.topic}:${message.partition}`;
    const position = `${partition}:${message.offset}`;
    this.#next.set(partition, message.offset + 1n);
    const text = message.value;
    if (text === undefined || text === null || text.length === 0) return; // a tombstone: the delete before it did the work
    let table: TableRef = this.#tableOfTopic(message.topic);
    try {
      const split = splitEnvelope(text);
      let schemaText: string;
      let payload: EnvelopePayload;
      if (split === undefined) {
        const full = JSON.parse(quoteLongIntegers(text)) as { schema?: unknown; payload?: EnvelopePayload };
        if (full.schema === undefined || full.schema === null || full.payload === undefined) throw new Error("not a Debezium envelope with a schema (JsonConverter schemas.enable=true)");
        schemaText = JSON.stringify(full.schema);
        payload = full.payload;
      } else {
        schemaText = split.schemaText;
        payload = JSON.parse(quoteLongIntegers(split.payloadText)) as EnvelopePayload;
      }
      const source = payload.source;
      if (source?.table !== undefined) table = { namespace: source.schema ?? source.db ?? table.namespace, name: source.table };
      const decoder = this.#decoder(table, schemaText, message.key);
      const key = tableKey(table);
      const common = {
        table,
        position,
        ...(source?.ts_ms === undefined ? {} : { commitTime: Number(source.ts_ms) }),
        ...(source?.txId === undefined || source.txId === null ? {} : { transactionId: String(source.txId) }),
      };
      const applied = this.#applied.get(key);
      // a record of an older version (still in another partition) is applied under the newer schema, without its columns that schema lacks
      const only = applied === undefined || decoder.schema.version >= applied.version ? undefined : decoder.projectionOnto(applied, this.#renames.get(key));
      if (applied === undefined || decoder.schema.version > applied.version) {
        this.#applied.set(key, decoder.schema);
        const renamed = decoder.renamed;
        if (renamed !== undefined) {
          const oldToNew = this.#renames.get(key) ?? new Map<string, string>();
          for (const [to, from] of Object.entries(renamed)) oldToNew.set(from, to);
          this.#renames.set(key, oldToNew);
        }
        events.push({
          op: "schema",
          ...common,
          schema: decoder.schema,
          ...(applied === undefined ? {} : { previous: applied }),
          ...(renamed === undefined ? {} : { renamed }),
        });
      }
      const unchangedText = message.headers.get(UNCHANGED_HEADER);
      const unchanged = unchangedText === undefined ? undefined : (JSON.parse(unchangedText) as string[]);
      switch (payload.op) {
        case "c":
        case "r":
        case "u": {
          const after = decoder.row(payload.after, unchanged, only);
          if (after === undefined) throw new Error(`op ${payload.op} without an after image`);
          if (payload.op !== "u" && unchanged === undefined) {
            events.push({ op: "insert", ...common, after });
            return;
          }
          const before = payload.op === "u" ? decoder.row(payload.before, undefined, only) : undefined;
          events.push({ op: "update", ...common, key: decoder.key(before ?? after), after, ...(unchanged === undefined ? {} : { unchanged }) });
          return;
        }
        case "d": {
          const before = decoder.row(payload.before, undefined, only);
          if (before === undefined) throw new Error("op d without a before image");
          events.push({ op: "delete", ...common, key: decoder.key(before) });
          return;
        }
        case "t":
          events.push({ op: "truncate", ...common });
          return;
        default:
          throw new Error(`unknown op ${String(payload.op)}`);
      }
    } catch (error) {
      rejected.push({ event: { op: "insert", table, position, after: {} }, reason: `kafka record ${position}: ${errorText(error)}` });
    }
  }

  #tableOfTopic(topic: string): TableRef {
    const prefix = this.#config.topicPrefix;
    const rest = prefix !== undefined && topic.startsWith(`${prefix}.`) ? topic.slice(prefix.length + 1) : topic;
    const dot = rest.indexOf(".");
    return dot < 0 ? { namespace: "kafka", name: rest } : { namespace: rest.slice(0, dot), name: rest.slice(dot + 1) };
  }

  #decoder(table: TableRef, schemaText: string, keyText: string | undefined): DebeziumTableDecoder {
    const found = this.#decoders.get(schemaText);
    if (found !== undefined) return found;
    const key = tableKey(table);
    let keyFields = this.#keyFields.get(key) ?? [];
    if (keyText !== undefined && keyText.length > 0) {
      const keySchema = (JSON.parse(keyText) as { schema?: ConnectSchemaJson }).schema;
      keyFields = (keySchema?.fields ?? []).map((f) => f.field ?? "");
      this.#keyFields.set(key, keyFields);
    }
    const version = (this.#versions.get(key) ?? 0) + 1;
    this.#versions.set(key, version);
    const decoder = new DebeziumTableDecoder(table, JSON.parse(schemaText) as ConnectSchemaJson, keyFields, version);
    if (this.#decoders.size >= MAX_DECODERS) this.#decoders.clear();
    this.#decoders.set(schemaText, decoder);
    return decoder;
  }

  async acknowledge(checkpoint: string): Promise<void> {
    const consumer = this.#consumer;
    const position = kafkaPositionCodec.parse(checkpoint);
    if (consumer === undefined || position.kind !== "checkpoint") return;
    const owned = this.#ownedNow;
    if (this.#completions !== undefined) {
      // the items below these offsets are durable in the target, whether or not the partition is still ours
      const next = new Map<string, bigint>();
      for (const [partition, offset] of Object.entries(position.offsets)) if (partition.startsWith(`${this.#workTopic ?? ""}:`)) next.set(partition, BigInt(offset));
      if (next.size > 0) await this.#completions.acknowledged(next);
    }
    const offsets = Object.entries(position.offsets)
      .filter(([partition]) => owned.has(partition))
      .map(([partition, offset]) => {
        const at = partition.lastIndexOf(":");
        return { topic: partition.slice(0, at), partition: Number(partition.slice(at + 1)), offset: BigInt(offset), leaderEpoch: -1 };
      });
    if (offsets.length === 0) return;
    try {
      await consumer.commit({ offsets });
    } catch (error) {
      // the partitions moved to another worker meanwhile: it replays from the last committed offsets
      this.#config.logger.warn("kafka: committing offsets failed; the group replays them", { error: errorText(error) });
    }
  }

  /**
   * The end of this run (see {@link KafkaPosition}): reached by the first
   * checkpoint taken when every assigned partition was read to the last
   * stable offset listed after the assignment.
   */
  async currentPosition(): Promise<string> {
    return kafkaPositionCodec.serialize({ kind: "end", run: this.#run });
  }

  async close(): Promise<void> {
    await this.#completions?.close();
    if (this.#consumer !== undefined) await closeConsumer(this.#consumer);
    this.#consumer = undefined;
  }
}

/** Creates a {@link KafkaSource}; options are checked here (a `ConfigError` names the field). */
export function createKafkaSource(options: KafkaSourceOptions): KafkaSource {
  return new KafkaSource(options);
}
