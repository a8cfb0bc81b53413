import { Admin } from "@platformatic/kafka";

/** The test broker started by scripts/test-services.sh. */
export const TEST_KAFKA = process.env.ZEROETL_TEST_KAFKA ?? "127.0.0.1:59092";

async function withAdmin<T>(work: (admin: Admin) => Promise<T>, broker = TEST_KAFKA): Promise<T> {
  const admin = new Admin({ clientId: "zetl-test-support", bootstrapBrokers: [broker] });
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}

/** The broker's topics, without its internal ones (`__consumer_offsets`, `__transaction_state`). */
export function listKafkaTopics(broker = TEST_KAFKA): Promise<string[]> {
  return withAdmin(async (admin) => (await admin.listTopics()).filter((t) => !t.startsWith("__")), broker);
}

/**
 * Deletes every topic of the given topic prefixes (`<prefix>.…`, the names
 * the Kafka sink gives: table topics, `schema-changes`, `zeroetl-checkpoints`,
 * the distributed snapshot's work topics) and the consumer groups named, so
 * that test runs leave no partitions behind (a broker whose data dir held
 * ~800 partitions ran out of heap at start). Call it from `afterAll` or a
 * `finally`; it never throws (a cleanup failure must not hide the test's
 * result), it warns instead.
 */
export async function deleteKafkaTopics(prefixes: readonly string[], options: { readonly groups?: readonly string[]; readonly broker?: string } = {}): Promise<void> {
  try {
    await withAdmin(async (admin) => {
      const topics = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(`${p}.`)));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      const groups = options.groups ?? [];
      if (groups.length > 0) await admin.deleteGroups({ groups: [...groups] }).catch(() => undefined);
    }, options.broker);
  } catch (error) {
    process.stderr.write(`test-support: could not delete the Kafka topics of ${prefixes.join(", ")}: ${(error as Error).message}\n`);
  }
}
