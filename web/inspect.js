// The request inspector on the client page: a live list of recorded
// exchanges (server-sent events), one exchange in full with readable bodies,
// and replay (as recorded or edited) with the new response beside the old.
// Bodies come from the internet: they are only ever set as text, never HTML.
import { el, fillTable, formatBytes, getJSON } from './common.js';

const MAX_ROWS = 500;
const HEX_PREVIEW_BYTES = 512;

let rows = [];
let selected;
let filter = '';

function header(headers, name) {
  const h = headers.find(([n]) => n.toLowerCase() === name);
  return h ? h[1] : '';
}

function statusClass(status) {
  if (!status) return 'bad';
  if (status < 300) return 'ok';
  if (status < 400) return 'warn';
  return 'bad';
}

function statusPillFor(summary) {
  const label = summary.status ? String(summary.status) : summary.error ? 'error' : '…';
  return el('span', { class: `pill ${statusClass(summary.status)}`, text: summary.upgraded ? `${label} ⇄` : label, title: summary.error });
}

function bytesOf(body) {
  const bin = atob(body.base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hexDump(bytes) {
  const lines = [];
  for (let off = 0; off < Math.min(bytes.length, HEX_PREVIEW_BYTES); off += 16) {
    const slice = [...bytes.slice(off, off + 16)];
    const hex = slice.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = slice.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

/** The body as a person wants to read it: pretty JSON, a form as a table, text, or a hex dump for bytes. */
function renderBody(body, headers) {
  const out = [];
  if (body.size === 0) return [el('div', { class: 'body-note', text: 'no body' })];
  const type = header(headers, 'content-type').toLowerCase();
  const encoding = header(headers, 'content-encoding');
  const shown = body.truncated
    ? `first ${formatBytes(atob(body.base64).length)} of ${formatBytes(body.size)} (cut at the inspector's limit)`
    : formatBytes(body.size);
  if (body.text === undefined) {
    const why = encoding ? `${encoding}-encoded` : 'binary';
    out.push(el('div', { class: 'body-note', 'data-body': 'binary', text: `${shown}, ${why}; the first bytes in hex:` }));
    out.push(el('pre', { class: 'body hex', text: hexDump(bytesOf(body)) }));
    return out;
  }
  out.push(el('div', { class: 'body-note', text: shown }));
  if (type.includes('json') || /^\s*[[{]/.test(body.text)) {
    try {
      out.push(el('pre', { class: 'body json', 'data-body': 'json', text: JSON.stringify(JSON.parse(body.text), null, 2) }));
      return out;
    } catch {
      // not JSON after all: shown as text below
    }
  }
  if (type.includes('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(body.text);
    const table = el('table', { class: 'headers', 'data-body': 'form' });
    for (const [k, v] of params) table.append(el('tr', {}, el('td', { text: k }), el('td', { text: v })));
    out.push(table);
    return out;
  }
  out.push(el('pre', { class: 'body text', 'data-body': 'text', text: body.text }));
  return out;
}

function headersTable(headers) {
  const table = el('table', { class: 'headers' });
  for (const [n, v] of headers) table.append(el('tr', {}, el('td', { text: `${n}:` }), el('td', { text: v })));
  return table;
}

function requestPane(e) {
  const q = e.request;
  return el(
    'div',
    { class: 'pane', 'data-pane': 'request' },
    el('h4', { text: 'Request' }),
    el('div', { class: 'start-line', text: `${q.method} ${q.target} ${q.version}` }),
    headersTable(q.headers),
    ...renderBody(q.body, q.headers),
  );
}

function responsePane(e, title) {
  const r = e.response;
  const pane = el('div', { class: 'pane', 'data-pane': title === 'Response' ? 'response' : 'replay' }, el('h4', { text: `${title} · ${e.durationMs} ms` }));
  if (!r) {
    pane.append(el('div', { class: 'err', text: e.error ?? 'no response' }));
    return pane;
  }
  pane.append(el('div', { class: 'start-line' }, el('span', { class: `pill ${statusClass(r.status)}`, text: String(r.status) }), ` ${r.reason}`));
  pane.append(headersTable(r.headers), ...renderBody(r.body, r.headers));
  if (e.error) pane.append(el('div', { class: 'err', text: e.error }));
  return pane;
}

function editorFor(e, onSend) {
  const q = e.request;
  const method = el('input', { class: 'method', value: q.method, 'aria-label': 'method' });
  const target = el('input', { class: 'target', value: q.target, 'aria-label': 'target' });
  const skip = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);
  const headers = el('textarea', { 'aria-label': 'headers', rows: 6 });
  headers.value = q.headers
    .filter(([n]) => !skip.has(n.toLowerCase()))
    .map(([n, v]) => `${n}: ${v}`)
    .join('\n');
  // The body goes out as recorded unless it is edited here. A binary body cannot be edited as
  // text; a cut one must be (the replay would otherwise be refused).
  const binary = q.body.text === undefined && q.body.size > 0;
  const body = el('textarea', {
    'aria-label': 'body',
    rows: 8,
    disabled: binary ? 'disabled' : undefined,
    placeholder: binary ? `binary body (${formatBytes(q.body.size)}), sent as recorded` : undefined,
  });
  body.value = binary ? '' : (q.body.text ?? '');
  let bodyEdited = false;
  body.addEventListener('input', () => (bodyEdited = true));
  const note = q.body.truncated
    ? el('div', {
        class: 'body-note',
        'data-note': 'cut',
        text: `The recorded body was cut at ${formatBytes(atob(q.body.base64).length)} of ${formatBytes(q.body.size)}: edit it to replay.`,
      })
    : undefined;
  const send = el('button', { class: 'primary', type: 'button', text: 'Send replay' });
  send.addEventListener('click', () => {
    const lines = headers.value.split('\n').filter((l) => l.trim() !== '');
    const list = lines.map((l) => {
      const i = l.indexOf(':');
      return i < 0 ? [l.trim(), ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
    const edits = { method: method.value.trim(), target: target.value.trim(), headers: list };
    onSend(bodyEdited ? { ...edits, body: body.value } : edits);
  });
  return el('div', { class: 'editor', 'data-editor': '' }, el('div', { class: 'row' }, method, target), headers, note, body, el('div', {}, send));
}

async function replay(e, edits, detail) {
  const old = detail.querySelector('.replay-error');
  old?.remove();
  const res = await fetch(`/api/requests/${e.id}/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: edits ? JSON.stringify(edits) : '',
  });
  const answer = await res.json().catch(() => ({ Msg: `HTTP ${res.status}` }));
  if (!res.ok) {
    detail.querySelector('h3').after(el('div', { class: 'replay-error', role: 'alert', text: `Replay failed: ${answer.Msg ?? res.status}` }));
    return;
  }
  const pair = detail.querySelector('[data-pair="responses"]');
  pair.classList.add('side-by-side');
  pair.querySelector('[data-pane="replay"]')?.remove();
  pair.append(responsePane(answer, `Replay #${answer.id}`));
}

async function showDetail(id) {
  selected = id;
  for (const tr of document.querySelectorAll('#requests tbody tr')) tr.classList.toggle('selected', Number(tr.dataset.id) === id);
  const detail = document.getElementById('detail');
  const res = await fetch(`/api/requests/${id}`);
  if (!res.ok) {
    detail.replaceChildren(el('div', { class: 'empty', text: `Exchange #${id} is gone (cleared or pushed out).` }));
    return;
  }
  const e = await res.json();
  const replayButton = el('button', { type: 'button', text: 'Replay' });
  const editButton = el('button', { type: 'button', text: 'Edit & replay' });
  const title = el(
    'h3',
    {},
    el('span', { text: `#${e.id}` }),
    el('span', { class: 'mono', text: `${e.method} ${e.host}${e.target}` }),
    el('span', { class: 'muted', text: `${e.proxy} · from ${e.visitor}${e.replayOf ? ` · replay of #${e.replayOf}` : ''}` }),
    el('span', { class: 'actions' }, replayButton, editButton),
  );
  const responses = el('div', { class: 'pane-pair', 'data-pair': 'responses' }, responsePane(e, 'Response'));
  detail.replaceChildren(title, el('div', { class: 'pane-pair' }, requestPane(e)), responses);
  replayButton.addEventListener('click', () => void replay(e, undefined, detail));
  editButton.addEventListener('click', () => {
    if (detail.querySelector('[data-editor]')) return;
    title.after(editorFor(e, (edits) => void replay(e, edits, detail)));
  });
}

function row(s) {
  const tr = el(
    'tr',
    { 'data-id': s.id, class: s.id === selected ? 'selected' : undefined },
    el('td', { class: 'mono', text: new Date(s.startedAt).toLocaleTimeString() }),
    el('td', { class: 'mono', text: s.method }),
    el('td', { class: 'mono path', title: `${s.host}${s.target}`, text: s.target }),
    el('td', {}, statusPillFor(s)),
    el('td', { class: 'num', text: `${s.durationMs} ms` }),
  );
  tr.addEventListener('click', () => void showDetail(s.id));
  return tr;
}

function render() {
  const shown = rows.filter((s) => !filter || s.proxy === filter);
  document.getElementById('request-count').textContent = `${shown.length} recorded`;
  fillTable(document.querySelector('#requests tbody'), shown.map(row), 'No requests yet.');
}

/** One new exchange on top; the rows already shown stay as they are (a click on one is not lost). */
function addRow(s) {
  if (filter && s.proxy !== filter) return;
  const tbody = document.querySelector('#requests tbody');
  if (!tbody.querySelector('tr[data-id]')) tbody.replaceChildren();
  tbody.prepend(row(s));
  while (tbody.children.length > MAX_ROWS) tbody.lastElementChild.remove();
  document.getElementById('request-count').textContent = `${tbody.children.length} recorded`;
}

/** Fills the proxy filter with the proxies that record. */
export function setInspectedProxies(names) {
  const select = document.getElementById('proxy-filter');
  const have = [...select.options].map((o) => o.value).filter(Boolean);
  if (have.join() === names.join()) return;
  select.replaceChildren(el('option', { value: '', text: 'all' }), ...names.map((n) => el('option', { value: n, text: n })));
  select.value = names.includes(filter) ? filter : '';
}

export async function startInspector() {
  // Listen first, then load the list, so nothing recorded in between is missed.
  const live = new EventSource('/api/requests/live');
  live.addEventListener('exchange', (ev) => {
    const s = JSON.parse(ev.data);
    if (rows.some((r) => r.id === s.id)) return;
    rows.unshift(s);
    if (rows.length > MAX_ROWS) rows.length = MAX_ROWS;
    addRow(s);
  });
  live.addEventListener('cleared', () => {
    rows = [];
    render();
  });
  const first = await getJSON('/api/requests');
  const seen = new Set(rows.map((r) => r.id));
  rows = [...rows, ...first.requests.filter((r) => !seen.has(r.id))].sort((a, b) => b.id - a.id).slice(0, MAX_ROWS);
  render();
  document.getElementById('proxy-filter').addEventListener('change', (ev) => {
    filter = ev.target.value;
    render();
  });
  document.getElementById('clear-requests').addEventListener('click', async () => {
    await fetch('/api/requests', { method: 'DELETE' });
    rows = [];
    selected = undefined;
    document.getElementById('detail').replaceChildren(el('div', { class: 'empty', text: 'Cleared.' }));
    render();
  });
}
