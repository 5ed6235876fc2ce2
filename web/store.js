// The store editor on the client admin page: the proxies and visitors kept in
// `store.path`, added, changed and removed through /api/store/*. Each entry is
// edited as the JSON the API takes ({"name", "type", "<type>": {…}}); the
// client checks it with the config file's rules and answers with the problem.
import { el, fillTable, getJSON } from './common.js';

const TEMPLATES = {
  proxies: { name: '', type: 'tcp', tcp: { localIP: '127.0.0.1', localPort: 0, remotePort: 0 } },
  visitors: { name: '', type: 'stcp', stcp: { serverName: '', secretKey: '', bindAddr: '127.0.0.1', bindPort: 0 } },
};
const KIND_WORD = { proxies: 'proxy', visitors: 'visitor' };

/** What the editor holds: a new entry of `kind`, or the stored entry `name`. */
let editing = { kind: 'proxies', name: undefined };

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { ok: res.ok, status: res.status, json, text };
}

function showError(message) {
  const box = $('store-error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

function openEditor(kind, name, definition) {
  editing = { kind, name };
  $('store-editor').hidden = false;
  $('store-editor-title').textContent = name === undefined ? `New ${KIND_WORD[kind]}` : `Change ${KIND_WORD[kind]} ${name}`;
  $('store-text').value = JSON.stringify(definition, null, 2);
  $('store-save').textContent = name === undefined ? 'Add' : 'Save';
  showError(undefined);
  $('store-text').focus();
}

function closeEditor() {
  $('store-editor').hidden = true;
  showError(undefined);
}

function row(kind, def) {
  const edit = el('button', { type: 'button', 'aria-label': `Change ${def.name}`, text: 'Change' });
  edit.addEventListener('click', async () => {
    const got = await api('GET', `/api/store/${kind}/${encodeURIComponent(def.name)}`);
    if (got.ok) openEditor(kind, def.name, got.json);
    else showError(got.json?.Msg ?? `HTTP ${got.status}`);
  });
  const remove = el('button', { type: 'button', 'aria-label': `Remove ${def.name}`, text: 'Remove' });
  remove.addEventListener('click', async () => {
    const done = await api('DELETE', `/api/store/${kind}/${encodeURIComponent(def.name)}`);
    if (!done.ok) return showError(done.json?.Msg ?? `HTTP ${done.status}`);
    if (editing.name === def.name && editing.kind === kind) closeEditor();
    await refreshStore();
  });
  return el(
    'tr',
    { 'data-stored': def.name, 'data-kind': KIND_WORD[kind] },
    el('td', { class: 'mono', text: def.name }),
    el('td', { text: KIND_WORD[kind] }),
    el('td', { text: def.type }),
    el('td', { class: 'actions' }, edit, ' ', remove),
  );
}

export async function refreshStore() {
  const [proxies, visitors] = await Promise.all([api('GET', '/api/store/proxies'), api('GET', '/api/store/visitors')]);
  const disabled = proxies.status === 404;
  $('store-disabled').hidden = !disabled;
  $('store-body').hidden = disabled;
  if (disabled) return;
  if (!proxies.ok || !visitors.ok) throw new Error(`/api/store: HTTP ${proxies.ok ? visitors.status : proxies.status}`);
  const rows = [...proxies.json.proxies.map((d) => row('proxies', d)), ...visitors.json.visitors.map((d) => row('visitors', d))];
  fillTable(document.querySelector('#stored tbody'), rows, 'Nothing stored yet: add a proxy or a visitor.');
}

async function save() {
  const { kind, name } = editing;
  const path = name === undefined ? `/api/store/${kind}` : `/api/store/${kind}/${encodeURIComponent(name)}`;
  const res = await api(name === undefined ? 'POST' : 'PUT', path, $('store-text').value);
  if (!res.ok) return showError(res.json?.Msg ?? `HTTP ${res.status}: ${res.text}`);
  closeEditor();
  await refreshStore();
}

export async function startStoreEditor() {
  // Without store.path the API answers 404; the page says how to turn it on instead of asking.
  let store;
  try {
    ({ store } = await getJSON('/api/client'));
  } catch (err) {
    return showError(`Could not read the store: ${err instanceof Error ? err.message : String(err)}`);
  }
  $('store-disabled').hidden = store;
  $('store-body').hidden = !store;
  if (!store) return;
  $('store-new-proxy').addEventListener('click', () => openEditor('proxies', undefined, TEMPLATES.proxies));
  $('store-new-visitor').addEventListener('click', () => openEditor('visitors', undefined, TEMPLATES.visitors));
  $('store-save').addEventListener('click', () => void save().catch((err) => showError(String(err))));
  $('store-cancel').addEventListener('click', closeEditor);
  return refreshStore().catch((err) => showError(`Could not read the store: ${err instanceof Error ? err.message : String(err)}`));
}
