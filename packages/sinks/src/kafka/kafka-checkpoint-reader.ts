import type { PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { tableKey, ZeroEtlError } from "@zero-etl/core";
import { Admin, Consumer, FetchIsolationLevels, stringDeserializers } from "@platformatic/kafka";

/** How to reach the checkpoint topic and the schema-change topic. */
export interface CheckpointTopicAccess {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
  /** The schema-change topic, read along: the schemas written so far, with their versions. */
  readonly schemaTopic?: string;
}

/** What a Kafka target committed before: the pipeline's last checkpoint and each table's last written schema. */
export interface CommittedState {
  readonly checkpoint: PipelineCheckpoint | undefined;
  /** By `tableKey`: the last schema (with the version written) of every table in the schema-change topic. */
  readonly schemas: ReadonlyMap<string, TableSchema>;
}

/** The committed end (`read_committed`) of partition 0 of each topic. */
async function committedEnds(admin: Admin, topics: readonly string[]): Promise<Map<string, bigint>> {
  const listed = await admin.listOffsets({
    topics: topics.map((name) => ({ name, partitions: [{ partitionIndex: 0, timestamp: -1n }] })),
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const ends = new Map<string, bigint>();
  for (const t of listed) ends.set(t.name, t.partitions[0]?.offset ?? 0n);
  return ends;
}

/** The exact schema a schema-change event of the Kafka sink carries (`zeroetl.schema`), or undefined. */
function schemaOfEvent(value: string | undefined): TableSchema | undefined {
  if (value === undefined || value === null || value.length === 0) return undefined;
  try {
    const schema = (JSON.parse(value) as { zeroetl?: { schema?: TableSchema } }).zeroetl?.schema;
    return schema?.table === undefined || typeof schema.version !== "number" ? undefined : schema;
  } catch {
    return undefined; // not written by zero-etl: nothing to learn from it
  }
}

/**
 * Reads what the pipeline committed to Kafka before: its last checkpoint in
 * the compacted checkpoint topic (one partition, keyed by pipeline name) and,
 * with `schemaTopic`, the last schema of each table in the schema-change
 * topic. The committed end of each partition is taken first, then the
 * partitions are read from the start up to it with `read_committed`, so an
 * aborted transaction's records never count.
 */
export async function readCommittedState(access: CheckpointTopicAccess, admin: Admin, pipeline: string): Promise<CommittedState> {
  const topics = access.schemaTopic === undefined ? [access.topic] : [access.topic, access.schemaTopic];
  const ends = await committedEnds(admin, topics);
  const schemas = new Map<string, TableSchema>();
  const toRead = topics.filter((t) => (ends.get(t) ?? 0n) > 0n);
  if (toRead.length === 0) return { checkpoint: undefined, schemas };
  const consumer = new Consumer({
    clientId: access.clientId,
    groupId: `zeroetl-checkpoint-reader-${pipeline}`,
    bootstrapBrokers: [...access.brokers],
    deserializers: stringDeserializers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  });
  try {
    const stream = await consumer.consume({ topics: toRead, mode: "earliest", autocommit: false });
    let last: string | undefined;
    const deadline = Date.now() + 60_000;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (toRead.every((t) => (stream.offsetsToFetch.get(`${t}:0`) ?? 0n) >= (ends.get(t) ?? 0n))) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() > deadline) {
          clearInterval(timer);
          reject(new ZeroEtlError(`the topics ${toRead.join(", ")} were not read to their committed end in 60 s`, { code: "sink-failed", retryable: true }));
        }
      };
      const timer = setInterval(check, 20);
      stream.on("data", (message: { topic: string; key: string | undefined; value: string | undefined }) => {
        if (message.topic === access.topic) {
          if (message.key === pipeline) last = message.value;
          return;
        }
        const schema = schemaOfEvent(message.value);
        if (schema !== undefined) schemas.set(tableKey(schema.table), schema);
      });
      stream.on("error", (error: unknown) => {
        clearInterval(timer);
        reject(error);
      });
    });
    await stream.close();
    return { checkpoint: last === undefined ? undefined : (JSON.parse(last) as PipelineCheckpoint), schemas };
  } finally {
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}

/** The last committed checkpoint of `pipeline` (see {@link readCommittedState}); undefined when it has none. */
export async function readCheckpoint(access: CheckpointTopicAccess, admin: Admin, pipeline: string): Promise<PipelineCheckpoint | undefined> {
  return (await readCommittedState({ brokers: access.brokers, clientId: access.clientId, topic: access.topic }, admin, pipeline)).checkpoint;
}
