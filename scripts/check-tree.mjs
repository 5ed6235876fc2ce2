// The two rules of the tree that a formatter cannot check (run by `npm run lint`):
//  1. imports point down the layers: a folder of src/ imports only from folders
//     of a lower layer (or from itself), and a proxy type's folder never imports
//     another type's folder (what types share lives at the root of src/proxy/);
//  2. no source file is over 400 lines (a longer one is usually two concerns).
// Exits 1 with one line per breach.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const MAX_LINES = 400;

/** Layer of each top-level folder of src/; a higher number sits above. Same number, different folder: no imports either way. */
const LAYERS = {
  util: 0,
  protocol: 1,
  transport: 1,
  relay: 1,
  mux: 2,
  control: 2,
  vhost: 2,
  config: 2,
  nathole: 3,
  plugin: 3, // frpc's client plugins: what a proxy's client half hands a connection to
  inspect: 3,
  acme: 3, // certificates from an ACME CA and the challenge answers the vhosts read; wired by server/
  proxy: 4,
  cluster: 4, // several servers sharing ownership in Redis: below server/, which it serves through narrow interfaces
  server: 5,
  client: 5,
  admin: 6,
  sshgw: 6, // frps's SSH tunnel gateway: an in-process client (client/) of the server it runs in (server/)
  demo: 7,
  cli: 8,
  '.': 9, // src/index.ts, the library entry
};

/** Type folders of src/proxy/ (a folder there that is not shared code). */
const SHARED_PROXY_FOLDERS = new Set(['shared']);

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** `src/a/b/c.ts` → ['a', 'b'] (folders under src/); a file at the root → ['.']. */
function folders(file) {
  const parts = relative(SRC, dirname(file))
    .split(sep)
    .filter((s) => s !== '');
  return parts.length === 0 ? ['.'] : parts;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

const problems = [];
for (const file of walk(SRC)) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(ROOT, file);
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_LINES) problems.push(`${rel}: ${lines} lines (at most ${MAX_LINES}: split it by concern)`);

  const [from, fromSub] = folders(file);
  if (!(from in LAYERS)) {
    problems.push(`${rel}: src/${from}/ has no layer in scripts/check-tree.mjs`);
    continue;
  }
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(SRC + sep)) continue;
    const [to, toSub] = folders(target.replace(/\.js$/, '.ts'));
    if (to === from) {
      const typeFolder = (sub) => sub !== undefined && !sub.endsWith('.ts') && !SHARED_PROXY_FOLDERS.has(sub);
      if (from === 'proxy' && typeFolder(fromSub) && typeFolder(toSub) && fromSub !== toSub) {
        problems.push(`${rel}: imports ${spec}: one proxy type must not import another's folder (share through src/proxy/)`);
      }
      continue;
    }
    if (!(to in LAYERS)) continue;
    if (LAYERS[to] >= LAYERS[from]) {
      problems.push(`${rel}: imports ${spec}: src/${from}/ (layer ${LAYERS[from]}) may import only lower layers, not src/${to}/ (layer ${LAYERS[to]})`);
    }
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} problem(s); the layers are listed in scripts/check-tree.mjs`);
  process.exit(1);
}
console.log('tree: imports point down the layers; no source file over 400 lines');
