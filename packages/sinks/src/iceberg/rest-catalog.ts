import { ZeroEtlError } from "@zero-etl/core";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { IcebergCatalog, LoadedTable, TableIdentifier } from "./iceberg-catalog.js";
import type { TableMetadata } from "./table-metadata.js";

/** Settings of the Iceberg REST catalog client. */
export interface RestCatalogOptions {
  /** Base URI, e.g. `https://catalog.example.com/api/catalog` (the client appends `/v1/...`). */
  readonly uri: string;
  /** The catalog's warehouse identifier, sent to `GET /v1/config`. */
  readonly warehouse?: string;
  /** A bearer token. */
  readonly token?: string;
  /** `client_id:client_secret` for the OAuth2 client-credentials flow at `/v1/oauth/tokens`. */
  readonly credential?: string;
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * An Iceberg REST catalog client (the OpenAPI spec's `/v1/config`,
 * namespaces, load/create table and commit endpoints). Commits send
 * requirements and updates; a 409 answer becomes a {@link CommitConflictError}.
 * Tokens never appear in errors.
 */
export function createRestCatalog(options: RestCatalogOptions): IcebergCatalog {
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = options.uri.replace(/\/+$/, "");
  let prefix: string | undefined;
  let token = options.token;

  const authenticate = async (): Promise<void> => {
    if (token !== undefined || options.credential === undefined) return;
    const colon = options.credential.indexOf(":");
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: colon < 0 ? "" : options.credential.slice(0, colon),
      client_secret: colon < 0 ? options.credential : options.credential.slice(colon + 1),
      scope: "catalog",
    });
    const res = await doFetch(`${base}/v1/oauth/tokens`, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
    if (!res.ok) throw new ZeroEtlError(`iceberg rest catalog refused the client credentials (http ${res.status})`, { code: "connection-failed" });
    token = ((await res.json()) as { access_token: string }).access_token;
  };

  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    await authenticate();
    if (prefix === undefined) {
      prefix = "";
      const query = options.warehouse === undefined ? "" : `?warehouse=${encodeURIComponent(options.warehouse)}`;
      const res = await request("GET", `/v1/config${query}`);
      if (res.ok) {
        const config = (await res.json()) as { overrides?: Record<string, string>; defaults?: Record<string, string> };
        const p = config.overrides?.["prefix"] ?? config.defaults?.["prefix"];
        if (p !== undefined && p !== "") prefix = `/${p}`;
      }
    }
    return request(method, `/v1${prefix}${path}`, body);
  };

  const request = async (method: string, path: string, body?: unknown): Promise<Response> => {
    try {
      return await doFetch(`${base}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ZeroEtlError(`iceberg rest catalog ${method} ${path} failed`, { code: "connection-failed", retryable: true, cause: error });
    }
  };

  const tablePath = (id: TableIdentifier): string => `/namespaces/${encodeURIComponent(id.namespace)}/tables/${encodeURIComponent(id.name)}`;

  const fail = async (what: string, res: Response): Promise<never> => {
    let detail = "";
    try {
      const err = (await res.json()) as { error?: { message?: string; type?: string } };
      detail = err.error?.type === undefined ? "" : `: ${err.error.type}`;
    } catch {
      detail = "";
    }
    throw new ZeroEtlError(`iceberg rest catalog ${what} answered http ${res.status}${detail}`, { code: "sink-failed", retryable: res.status >= 500 || res.status === 429 });
  };

  const asLoaded = async (res: Response): Promise<LoadedTable> => {
    const body = (await res.json()) as { "metadata-location": string; metadata: TableMetadata };
    return { metadata: body.metadata, metadataLocation: body["metadata-location"] };
  };

  const loadTable = async (id: TableIdentifier): Promise<LoadedTable | undefined> => {
    const res = await call("GET", tablePath(id));
    if (res.status === 404) return undefined;
    if (!res.ok) return fail(`load of ${id.namespace}.${id.name}`, res);
    return asLoaded(res);
  };

  return {
    kind: "rest",
    loadTable,
    async createTable(id, metadata) {
      const ns = await call("POST", "/namespaces", { namespace: [id.namespace], properties: {} });
      if (!ns.ok && ns.status !== 409) await fail(`create of namespace ${id.namespace}`, ns);
      const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
      const res = await call("POST", `/namespaces/${encodeURIComponent(id.namespace)}/tables`, {
        name: id.name,
        location: metadata.location,
        schema,
        "partition-spec": { "spec-id": 0, fields: [] },
        "write-order": { "order-id": 0, fields: [] },
        properties: metadata.properties,
      });
      if (res.status === 409) {
        const existing = await loadTable(id);
        if (existing !== undefined) return existing;
      }
      if (!res.ok) return fail(`create of ${id.namespace}.${id.name}`, res);
      const created = await asLoaded(res);
      const spec = metadata["partition-specs"].find((s) => s["spec-id"] === metadata["default-spec-id"]);
      if (spec === undefined || spec.fields.length === 0) return created;
      return this.commitTable(id, {
        base: created,
        metadata: created.metadata,
        requirements: [{ type: "assert-table-uuid", uuid: created.metadata["table-uuid"] }],
        updates: [
          { action: "add-spec", spec },
          { action: "set-default-spec", "spec-id": -1 },
        ],
      });
    },
    async dropTable(id) {
      // no purge: the catalog server decides about the files
      const res = await call("DELETE", tablePath(id));
      if (!res.ok && res.status !== 404) await fail(`drop of ${id.namespace}.${id.name}`, res);
    },
    async commitTable(id, commit) {
      const res = await call("POST", tablePath(id), {
        identifier: { namespace: [id.namespace], name: id.name },
        requirements: commit.requirements,
        updates: commit.updates,
      });
      if (res.status === 409) throw new CommitConflictError(`${id.namespace}.${id.name} changed since snapshot ${commit.base.metadata["current-snapshot-id"] ?? "none"}`);
      if (!res.ok) return fail(`commit to ${id.namespace}.${id.name}`, res);
      return asLoaded(res);
    },
  };
}
