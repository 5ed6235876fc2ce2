import { isPlainObject, join, type ProblemSink, type SchemaNode } from './schema-engine.js';

/**
 * frp decodes TOML, YAML and JSON files through Go's encoding/json, which
 * matches a key to a struct field ignoring case: `subdomainHost`,
 * `SubDomainHost` and `SUBDOMAINHOST` all set `subDomainHost`. This renames
 * every key of `raw` that the schema knows under another spelling to the
 * schema's one, at every depth, so validation and the cross-key checks see
 * one spelling. Table values that are maps (`metadatas`, header tables) keep
 * their keys as written. Unknown keys are left for validation to report.
 *
 * Unlike frp, where the last spelling in the file silently wins, one key
 * given twice under two spellings is an error naming both.
 *
 * INI files are case-sensitive in frp (go-ini with InsensitiveKeys off), so
 * this is not applied to them.
 */
export function canonicalKeys(node: SchemaNode, raw: unknown, path: string, sink: ProblemSink): unknown {
  if (node.kind === 'list') {
    return Array.isArray(raw) ? raw.map((item, i) => canonicalKeys(node.item, item, `${path}[${i}]`, sink)) : raw;
  }
  if (node.kind !== 'object' || !isPlainObject(raw)) return raw;
  const byLower = new Map(Object.keys(node.fields).map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  const spelled = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    const canonical = Object.hasOwn(node.fields, key) ? key : (byLower.get(key.toLowerCase()) ?? key);
    const earlier = spelled.get(canonical);
    if (earlier !== undefined) {
      sink(join(path, canonical), `given twice, as "${earlier}" and "${key}" (keys are matched ignoring case, as frp does)`);
      continue;
    }
    spelled.set(canonical, key);
    const child = node.fields[canonical];
    out[canonical] = child ? canonicalKeys(child, value, join(path, canonical), sink) : value;
  }
  return out;
}
