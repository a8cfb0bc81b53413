import type { PipelineCheckpoint } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import { Admin, Consumer, FetchIsolationLevels, stringDeserializers } from "@platformatic/kafka";

/** How to reach the checkpoint topic. */
export interface CheckpointTopicAccess {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
}

/**
 * Reads the last committed checkpoint of `pipeline` from the compacted
 * checkpoint topic (one partition, keyed by pipeline name): the committed
 * end of the partition is taken first, then the partition is read from the
 * start up to it with `read_committed`, so an aborted transaction's
 * checkpoint never counts. Undefined when the pipeline has none.
 */
export async function readCheckpoint(access: CheckpointTopicAccess, admin: Admin, pipeline: string): Promise<PipelineCheckpoint | undefined> {
  const listed = await admin.listOffsets({
    topics: [{ name: access.topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const end = listed[0]?.partitions[0]?.offset ?? 0n;
  if (end === 0n) return undefined;
  const consumer = new Consumer({
    clientId: access.clientId,
    groupId: `zeroetl-checkpoint-reader-${pipeline}`,
    bootstrapBrokers: [...access.brokers],
    deserializers: stringDeserializers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  });
  try {
    const stream = await consumer.consume({ topics: [access.topic], mode: "earliest", autocommit: false });
    let last: string | undefined;
    const key = `${access.topic}:0`;
    const deadline = Date.now() + 60_000;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if ((stream.offsetsToFetch.get(key) ?? 0n) >= end) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() > deadline) {
          clearInterval(timer);
          reject(new ZeroEtlError(`the checkpoint topic ${access.topic} was not read to its end (offset ${end}) in 60 s`, { code: "sink-failed", retryable: true }));
        }
      };
      const timer = setInterval(check, 20);
      stream.on("data", (message: { key: string | undefined; value: string | undefined }) => {
        if (message.key === pipeline) last = message.value;
      });
      stream.on("error", (error: unknown) => {
        clearInterval(timer);
        reject(error);
      });
    });
    await stream.close();
    return last === undefined ? undefined : (JSON.parse(last) as PipelineCheckpoint);
  } finally {
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}
