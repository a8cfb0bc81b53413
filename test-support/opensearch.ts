// An independent reader of the test OpenSearch node: plain HTTP with fetch,
// nothing of the sink's code or of the OpenSearch client.

/** The test node started by scripts/test-services.sh. */
export function openSearchUrl(): string {
  return process.env.ZETL_OPENSEARCH_URL ?? "http://127.0.0.1:59200";
}

/** A unique index prefix for one test file, so runs and helpers never share an index. */
export function uniqueIndexPrefix(label: string): string {
  return `zetl_${label}_${process.pid}_${Date.now().toString(36)}`.toLowerCase();
}

/** Sends one request and returns the parsed JSON body; throws on HTTP errors unless `allow` lists the status. */
export async function openSearchRequest(method: string, path: string, body?: unknown, allow: readonly number[] = []): Promise<{ status: number; body: any }> {
  const response = await fetch(`${openSearchUrl()}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text === "" ? undefined : JSON.parse(text);
  if (response.status >= 400 && !allow.includes(response.status)) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
  return { status: response.status, body: parsed };
}

/**
 * Every document of an index by id, read with the scroll API (sort values of
 * search_after would pass 64-bit keys through JSON.parse and lose digits).
 */
export async function readAllDocuments(index: string): Promise<Map<string, Record<string, unknown>>> {
  await openSearchRequest("POST", `/${encodeURIComponent(index)}/_refresh`);
  const documents = new Map<string, Record<string, unknown>>();
  let { body } = await openSearchRequest("POST", `/${encodeURIComponent(index)}/_search?scroll=1m`, { size: 500, sort: ["_doc"], query: { match_all: {} } });
  try {
    for (;;) {
      const hits = body.hits.hits as { _id: string; _source: Record<string, unknown> }[];
      if (hits.length === 0) return documents;
      for (const hit of hits) documents.set(hit._id, hit._source);
      ({ body } = await openSearchRequest("POST", "/_search/scroll", { scroll: "1m", scroll_id: body._scroll_id }));
    }
  } finally {
    await openSearchRequest("DELETE", "/_search/scroll", { scroll_id: body._scroll_id }, [404]);
  }
}

/** The ids of the documents a query matches. */
export async function searchIds(index: string, query: unknown): Promise<string[]> {
  await openSearchRequest("POST", `/${encodeURIComponent(index)}/_refresh`);
  const { body } = await openSearchRequest("POST", `/${encodeURIComponent(index)}/_search`, { size: 1000, query });
  return (body.hits.hits as { _id: string }[]).map((h) => h._id).sort();
}

/** The number of documents in an index. */
export async function countDocuments(index: string): Promise<number> {
  await openSearchRequest("POST", `/${encodeURIComponent(index)}/_refresh`);
  const { body } = await openSearchRequest("GET", `/${encodeURIComponent(index)}/_count`);
  return body.count as number;
}

/** Deletes the indices whose names start with `prefix`, and the index templates `check --fix` made for them. */
export async function deleteIndices(prefix: string): Promise<void> {
  await openSearchRequest("DELETE", `/${encodeURIComponent(prefix)}*`, undefined, [404]);
  await openSearchRequest("DELETE", `/_index_template/zeroetl-${encodeURIComponent(prefix)}*`, undefined, [404]);
}
