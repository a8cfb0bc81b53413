/**
 * The index template `check --fix` installs for a pipeline's indices: it
 * matches every physical index the sink creates for `target.index`
 * (`<name>.zeroetl-<id>`, the template's `{namespace}` and `{table}` as
 * wildcards) and holds the settings the sink creates them with, so an index
 * made by anything else under those names (a manual reindex, a restore) gets
 * the same shards, replicas and strict mapping.
 */
export interface OpenSearchIndexTemplate {
  readonly name: string;
  readonly body: {
    readonly index_patterns: readonly string[];
    readonly priority: number;
    readonly template: { readonly settings: Readonly<Record<string, unknown>>; readonly mappings: { readonly dynamic: "strict" } };
    readonly _meta: { readonly managed_by: "zero-etl"; readonly index: string };
  };
}

/**
 * The template for `indexTemplate` (`target.index`); `settings` are left out
 * on Serverless, which manages shards and replicas itself.
 */
export function openSearchIndexTemplate(indexTemplate: string, settings: Readonly<Record<string, unknown>>): OpenSearchIndexTemplate {
  const pattern = `${indexTemplate.replaceAll("{namespace}", "*").replaceAll("{table}", "*").toLowerCase().replace(/\*+/g, "*")}.zeroetl-*`;
  // a template name is a plain name: the pattern's wildcards and dots become `_`
  const name = `zeroetl-${pattern.replace(/[^a-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "")}`.slice(0, 255);
  return {
    name,
    body: {
      index_patterns: [pattern],
      // OpenSearch refuses two templates with overlapping patterns and one priority: the more literal
      // characters a pattern has, the more specific it is and the higher it ranks (`shop.*` over `*`)
      priority: 100 + pattern.replaceAll("*", "").length,
      template: { settings, mappings: { dynamic: "strict" } },
      _meta: { managed_by: "zero-etl", index: indexTemplate },
    },
  };
}

/** True when the installed template (as `GET _index_template/<name>` returns it) matches the wanted one. */
export function indexTemplateMatches(installed: unknown, wanted: OpenSearchIndexTemplate): boolean {
  const t = installed as { index_patterns?: unknown; template?: { settings?: { index?: Record<string, unknown> }; mappings?: { dynamic?: unknown } } } | undefined;
  if (t === undefined || JSON.stringify(t.index_patterns) !== JSON.stringify(wanted.body.index_patterns)) return false;
  if (String(t.template?.mappings?.dynamic) !== "strict") return false;
  const live = t.template?.settings?.index ?? {};
  // OpenSearch answers settings as strings under `index`
  for (const [key, value] of Object.entries(wanted.body.template.settings)) {
    if (String(live[key.replace(/^index\./, "")]) !== String(value)) return false;
  }
  return true;
}
