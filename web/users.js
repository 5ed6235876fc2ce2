// The Users section of the server dashboard: burrow's accounts from
// GET /api/users, with their proxies, online state, traffic this period
// against the quota, and limits. With a users file and a dashboard login the
// operator adds (the generated token is shown once), edits, disables,
// deletes an account or rotates its token; the server checks each change with
// the config's own rules and answers the problem, naming the field.
import { el, fillTable, formatBytes, statusPill } from './common.js';

const $ = (id) => document.getElementById(id);

/** The form's number fields (sent as numbers) and list fields (comma-separated). */
const NUMBER_FIELDS = ['maxProxies', 'maxConnections', 'quotaResetDay'];
const TEXT_FIELDS = ['bandwidthLimit', 'trafficQuota', 'expires'];

/** What the form holds: a new account, or the account `name`. */
let editing;

async function send(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) throw new Error(json?.Msg ?? `HTTP ${res.status}`);
  return json;
}

function showError(message) {
  $('user-error').textContent = message ?? '';
  $('user-error').hidden = !message;
}

/** "6000-6010, 6020" → frp's allowPorts shape; a piece that is no port goes as written, for the server to name. */
function parsePorts(text) {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((piece) => {
      const range = /^(\d+)\s*-\s*(\d+)$/.exec(piece);
      if (range) return { start: Number(range[1]), end: Number(range[2]) };
      return /^\d+$/.test(piece) ? { single: Number(piece) } : piece;
    });
}

function portsText(ranges) {
  return ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}-${r.end}`)).join(', ');
}

function openForm(user) {
  editing = user?.name;
  const form = $('user-form');
  form.reset();
  form.hidden = false;
  form.elements.name.readOnly = user !== undefined;
  $('user-form-title').textContent = user ? `Change ${user.name}` : 'New user';
  $('user-save').textContent = user ? 'Save' : 'Add';
  if (user) {
    form.elements.name.value = user.name;
    form.elements.allowPorts.value = portsText(user.limits.allowPorts);
    form.elements.allowDomains.value = user.limits.allowDomains.join(', ');
    form.elements.maxProxies.value = String(user.maxProxies);
    form.elements.maxConnections.value = String(user.maxConnections);
    form.elements.bandwidthLimit.value = user.bandwidthLimit;
    form.elements.trafficQuota.value = user.limits.trafficQuota;
    form.elements.quotaResetDay.value = String(user.limits.quotaResetDay);
    form.elements.expires.value = user.limits.expires;
  }
  showError(undefined);
  (user ? form.elements.maxProxies : form.elements.name).focus();
}

function closeForm() {
  $('user-form').hidden = true;
  editing = undefined;
}

/** The form as the API's JSON: every limit, empty ones as their "none" value. */
function formBody() {
  const f = $('user-form').elements;
  const body = {
    allowPorts: parsePorts(f.allowPorts.value),
    allowDomains: f.allowDomains.value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
  for (const k of NUMBER_FIELDS) {
    const v = f[k].value.trim();
    body[k] = v === '' ? (k === 'quotaResetDay' ? 1 : 0) : Number(v);
  }
  for (const k of TEXT_FIELDS) body[k] = f[k].value.trim();
  return body;
}

async function save(event) {
  event.preventDefault();
  try {
    if (editing === undefined) {
      const name = $('user-form').elements.name.value.trim();
      const made = await send('POST', '/api/users', { name, ...formBody() });
      showToken(name, made.token);
    } else {
      await send('PUT', `/api/users/${encodeURIComponent(editing)}`, formBody());
    }
    closeForm();
    showError(undefined);
    await refreshUsers();
  } catch (err) {
    showError(err.message);
  }
}

function showToken(name, token) {
  $('user-token-name').textContent = name;
  $('user-token-value').textContent = token;
  $('user-token').hidden = false;
}

async function act(run) {
  try {
    await run();
    showError(undefined);
    await refreshUsers();
  } catch (err) {
    showError(err.message);
  }
}

function actions(u) {
  const path = `/api/users/${encodeURIComponent(u.name)}`;
  const button = (label, action, onClick) => {
    const b = el('button', { type: 'button', 'data-action': action, text: label });
    b.addEventListener('click', onClick);
    return b;
  };
  return [
    button('Edit', 'edit', () => openForm(u)),
    button(u.disabled ? 'Enable' : 'Disable', u.disabled ? 'enable' : 'disable', () => act(() => send('PUT', path, { disabled: !u.disabled }))),
    button('New token', 'rotate', () =>
      act(async () => {
        if (!window.confirm(`Give ${u.name} a new token? Their clients are logged out until they use it.`)) return;
        showToken(u.name, (await send('POST', `${path}/token`)).token);
      }),
    ),
    button('Delete', 'delete', () =>
      act(async () => {
        if (window.confirm(`Delete user ${u.name}? Their tunnels close now.`)) await send('DELETE', path);
      }),
    ),
  ];
}

function limitsText(u) {
  const parts = [];
  if (u.limits.allowPorts.length > 0) parts.push(`ports ${portsText(u.limits.allowPorts)}`);
  if (u.limits.allowDomains.length > 0) parts.push(`domains ${u.limits.allowDomains.join(', ')}`);
  if (u.maxProxies > 0) parts.push(`max ${u.maxProxies} proxies`);
  if (u.bandwidthLimit) parts.push(`${u.bandwidthLimit}/s`);
  if (u.limits.expires) parts.push(`expires ${u.limits.expires}`);
  return parts.join(' · ') || 'none';
}

function row(u, editable) {
  const status = u.disabled ? 'disabled' : u.expired ? 'expired' : u.online ? 'online' : 'offline';
  const traffic = u.trafficQuota > 0 ? `${formatBytes(u.trafficUsed)} of ${formatBytes(u.trafficQuota)}` : formatBytes(u.trafficUsed);
  const conns = u.maxConnections > 0 ? `${u.connections} of ${u.maxConnections}` : String(u.connections);
  return el(
    'tr',
    { 'data-user': u.name },
    el('td', {}, el('div', { class: 'mono', text: u.name }), el('div', { class: 'limits', text: u.source === 'config' ? 'server config' : 'users file' })),
    el('td', { 'data-field': 'status' }, statusPill(status)),
    el('td', { class: 'mono', 'data-field': 'proxies', text: u.proxyNames.join(', ') }),
    el('td', { 'data-field': 'traffic', 'data-bytes': u.trafficUsed, text: traffic }),
    el('td', { 'data-field': 'conns', text: conns }),
    el('td', { class: 'limits', 'data-field': 'limits', text: limitsText(u) }),
    el('td', { class: 'actions' }, ...(editable && u.source === 'file' ? actions(u) : [])),
  );
}

/** Redraws the table from GET /api/users; the section shows once there are accounts or a users file to add them to. */
export async function refreshUsers() {
  const res = await fetch('/api/users', { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`/api/users: HTTP ${res.status}`);
  const { users, editable } = await res.json();
  $('users-section').hidden = users.length === 0 && !editable;
  $('users-actions').hidden = !editable;
  $('users-readonly').hidden = editable;
  fillTable(
    document.querySelector('#users tbody'),
    users.map((u) => row(u, editable)),
    'No users yet.',
  );
}

$('user-new').addEventListener('click', () => openForm(undefined));
$('user-cancel').addEventListener('click', closeForm);
$('user-form').addEventListener('submit', (e) => void save(e));
$('user-token-close').addEventListener('click', () => {
  $('user-token').hidden = true;
  $('user-token-value').textContent = '';
});
