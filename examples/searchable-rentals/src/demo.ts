/**
 * `pnpm --filter @zero-etl/example-searchable-rentals demo`: a DynamoDB
 * single-table design (listings and hosts in one table, told apart by the
 * `pk` prefix) replicated live into OpenSearch, one index per entity, items
 * unnested into searchable fields; three searches printed before and after
 * live edits, with the time each edit took to become searchable.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BatchWriteItemCommand, CreateTableCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { heading, openSearchUrl, repositoryRoot, startDynamoDbLocal, waitFor, zeroetl } from "@zero-etl/example-harness";

const workDir = join(repositoryRoot, ".zero-etl", "rentals");
const prefix = process.env.ZETL_DEMO_INDEX_PREFIX ?? "rentals_demo";
const listingsIndex = `${prefix}.rentals_listing`;
const hostsIndex = `${prefix}.rentals_host`;
const stateIndex = `${prefix}_state`;
const cities = ["Lisbon", "Porto", "Seville", "Nice"];
const kinds = ["apartment", "house", "studio", "loft"];

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

function listing(i: number): Record<string, AttributeValue> {
  const city = cities[i % cities.length] ?? "Lisbon";
  const seaView = i % 3 === 0;
  return {
    pk: s(`LISTING#${i}`),
    sk: s("LISTING"),
    title: s(`${seaView ? "Sea view " : "Quiet "}${kinds[i % kinds.length] ?? "flat"} in ${city}`),
    price_per_night: n(60 + ((i * 37) % 140)),
    host: s(`HOST#${i % 10}`),
    address: { M: { city: s(city), country: s(city === "Nice" ? "FR" : city === "Seville" ? "ES" : "PT"), geo: { M: { lat: n(38 + (i % 5) / 10), lon: n(-9 + (i % 7) / 10) } } } },
    features: { M: { sea_view: { BOOL: seaView }, wifi: { BOOL: i % 2 === 0 }, bedrooms: n(1 + (i % 3)) } },
  };
}

async function search(index: string, query: unknown, fields: string[]): Promise<string[]> {
  await fetch(`${openSearchUrl}/${encodeURIComponent(index)}/_refresh`, { method: "POST" });
  const response = await fetch(`${openSearchUrl}/${encodeURIComponent(index)}/_search`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ size: 20, query, sort: [{ _id: "asc" }] }),
  });
  if (!response.ok) throw new Error(`search ${index}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  const body = (await response.json()) as { hits: { hits: { _id: string; _source: Record<string, unknown> }[] } };
  // ids are the item's key, `pk|sk`
  return body.hits.hits.map((h) => `${h._id.padEnd(19)} ${fields.map((f) => String(h._source[f])).join(" | ")}`);
}

const searches = [
  {
    title: 'listings matching "sea view" in Lisbon under 120 a night',
    run: () =>
      search(
        listingsIndex,
        { bool: { must: [{ match: { item__title: "sea view" } }], filter: [{ term: { "item__address__city.keyword": "Lisbon" } }, { range: { item__price_per_night: { lte: 120 } } }] } },
        ["item__title", "item__price_per_night"],
      ),
  },
  {
    title: "listings with wifi and 3 bedrooms in Portugal",
    run: () =>
      search(
        listingsIndex,
        { bool: { filter: [{ term: { item__features__wifi: true } }, { term: { item__features__bedrooms: 3 } }, { term: { "item__address__country.keyword": "PT" } }] } },
        ["item__title", "item__address__city"],
      ),
  },
  { title: 'hosts named "Ana"', run: () => search(hostsIndex, { match: { item__name: "Ana" } }, ["item__name", "item__superhost"]) },
];

async function printSearches(): Promise<string[][]> {
  const results: string[][] = [];
  for (const { title, run } of searches) {
    const hits = await run();
    results.push(hits);
    console.log(`${title}: ${hits.length}`);
    for (const hit of hits) console.log(`  ${hit}`);
  }
  return results;
}

async function main(): Promise<void> {
  const ddb = await startDynamoDbLocal();
  process.env.AWS_ACCESS_KEY_ID = ddb.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = ddb.credentials.secretAccessKey;
  const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: ddb.region, credentials: ddb.credentials });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: "rentals",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
      }),
    );
    const items = [
      ...Array.from({ length: 48 }, (_, i) => listing(i + 1)),
      ...Array.from({ length: 10 }, (_, i) => ({ pk: s(`HOST#${i}`), sk: s("PROFILE"), name: s(["Ana Silva", "Bruno Costa", "Carla Reyes", "Ana Martin", "Didier Blanc"][i % 5] ?? "x"), superhost: { BOOL: i % 2 === 0 } })),
    ];
    for (let i = 0; i < items.length; i += 25) {
      await client.send(new BatchWriteItemCommand({ RequestItems: { rentals: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
    console.log(`DynamoDB Local ${ddb.endpoint}: table rentals, 48 listings (pk LISTING#n, nested address.geo and features) and 10 hosts (pk HOST#n)`);

    // a fresh start: the indices and the pipeline's checkpoint (kept by the sink in its own state index)
    for (const index of [`${prefix}.*`, stateIndex]) await fetch(`${openSearchUrl}/${encodeURIComponent(index)}?expand_wildcards=all`, { method: "DELETE" });
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const config = join(workDir, "pipeline.json");
    await writeFile(
      config,
      JSON.stringify(
        {
          name: "rentals_demo",
          source: { type: "dynamodb", table: "rentals", region: ddb.region, endpoint: ddb.endpoint, routing: { prefix: { on: "pk", separator: "#" }, entities: ["listing", "host"] } },
          target: { type: "opensearch", node: openSearchUrl, index: `${prefix}.{table}`, stateIndex },
          mapping: { unnest: { mode: "all" } },
          state: { dir: join(workDir, "state") },
          log: { level: "warn" },
        },
        null,
        2,
      ),
    );
    heading(`zeroetl run ${config}   (in the background)`);
    const runner = zeroetl(["run", config], { quiet: true });
    process.once("exit", () => runner.kill("SIGTERM"));
    const count = async (index: string) => {
      await fetch(`${openSearchUrl}/${encodeURIComponent(index)}/_refresh`, { method: "POST" });
      return ((await (await fetch(`${openSearchUrl}/${encodeURIComponent(index)}/_count`)).json()) as { count?: number }).count ?? 0;
    };
    const running = () => {
      if (runner.exitCode !== null) throw new Error(`zeroetl run ended (${runner.exitCode}): ${runner.output()}`);
    };
    const loaded = await waitFor("the snapshot in OpenSearch", async () => (running(), (await count(listingsIndex)) === 48 && (await count(hostsIndex)) === 10), 120_000, 200).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; zeroetl run said: ${runner.output()}`);
    });
    console.log(`indices ${listingsIndex} (48 documents) and ${hostsIndex} (10) searchable after ${loaded.toFixed(1)} s`);

    heading("searches before the edits");
    const before = await printSearches();

    heading("live edits in DynamoDB");
    // a new sea-view listing in Lisbon at 95, a price drop into the first search, the first hit of the second search deleted, a host renamed
    await client.send(new PutItemCommand({ TableName: "rentals", Item: { ...listing(100), title: s("Sea view penthouse in Lisbon"), price_per_night: n(95), address: { M: { city: s("Lisbon"), country: s("PT") } } } }));
    await client.send(
      new UpdateItemCommand({ TableName: "rentals", Key: { pk: s("LISTING#36"), sk: s("LISTING") }, UpdateExpression: "SET price_per_night = :p", ExpressionAttributeValues: { ":p": n(99) } }),
    );
    await client.send(new DeleteItemCommand({ TableName: "rentals", Key: { pk: s(`LISTING#${firstHit(before[1])}`), sk: s("LISTING") } }));
    await client.send(
      new UpdateItemCommand({ TableName: "rentals", Key: { pk: s("HOST#1"), sk: s("PROFILE") }, UpdateExpression: "SET #n = :n", ExpressionAttributeNames: { "#n": "name" }, ExpressionAttributeValues: { ":n": s("Ana Costa") } }),
    );
    console.log(`put LISTING#100 (sea view, Lisbon, 95), LISTING#36 (sea view, Lisbon) price 132 -> 99, deleted LISTING#${firstHit(before[1])}, HOST#1 renamed "Ana Costa"`);
    const expected = (hits: string[][]) =>
      hits[0]?.some((h) => h.startsWith("LISTING#100|")) === true &&
      hits[0]?.some((h) => h.startsWith("LISTING#36|")) === true &&
      hits[1]?.some((h) => h.startsWith(`LISTING#${firstHit(before[1])}|`)) === false &&
      hits[2]?.some((h) => h.startsWith("HOST#1|")) === true;
    const seconds = await waitFor("the edits in the searches", async () => expected(await Promise.all(searches.map((q) => q.run()))), 60_000, 100).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; zeroetl run said: ${runner.output()}`);
    });
    console.log(`all four edits searchable after ${seconds.toFixed(2)} s`);

    heading("searches after the edits");
    await printSearches();

    runner.kill("SIGTERM");
    console.log(`\nzeroetl run stopped with exit code ${await runner.exited}`);
    console.log(`the indices stay on ${openSearchUrl} (${listingsIndex}, ${hostsIndex})`);
  } finally {
    client.destroy();
    await ddb.stop();
  }
}

/** The number of the first listing in a search's printed hits. */
function firstHit(hits: string[] | undefined): string {
  const m = /^LISTING#(\d+)/.exec(hits?.[0] ?? "");
  if (m?.[1] === undefined) throw new Error("the search found no listing to delete");
  return m[1];
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
