// The client admin page: the session with the server and each proxy's state,
// from GET /api/client, refreshed every second.
import { el, fillTable, getJSON, poll, statusPill } from './common.js';
import { setInspectedProxies, startInspector } from './inspect.js';
import { startStoreEditor } from './store.js';

const REFRESH_MS = 1000;

function card(label, value, id) {
  return el('div', { class: 'card', 'data-card': id }, el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }));
}

async function refresh() {
  const c = await getJSON('/api/client');
  document.getElementById('client-sub').textContent = `server ${c.server}${c.user ? ` · user ${c.user}` : ''}`;
  const cards = [
    el('div', { class: 'card', 'data-card': 'state' }, el('div', { class: 'label', text: 'Session' }), el('div', { class: 'value' }, statusPill(c.state))),
    card('Reconnect attempts', String(c.reconnectAttempts), 'attempts'),
    card('Proxies running', `${c.proxies.filter((p) => p.status === 'running').length} / ${c.proxies.length}`, 'running'),
  ];
  if (c.lastError)
    cards.push(
      el(
        'div',
        { class: 'card', 'data-card': 'last-error' },
        el('div', { class: 'label', text: 'Last error' }),
        el('div', { class: 'err mono', text: c.lastError }),
      ),
    );
  // serverAddrs: one session per node at once, each with its own state.
  for (const s of c.sessions?.length > 1 ? c.sessions : []) {
    cards.push(
      el(
        'div',
        { class: 'card', 'data-card': 'session', 'data-server': s.server },
        el('div', { class: 'label', text: `Session ${s.server}` }),
        el('div', { class: 'value' }, statusPill(s.state)),
        s.lastError ? el('div', { class: 'err mono', text: s.lastError }) : undefined,
      ),
    );
  }
  document.getElementById('cards').replaceChildren(...cards);
  const rows = c.proxies.map((p) =>
    el(
      'tr',
      { 'data-proxy': p.name },
      el('td', { class: 'mono', text: p.name }, p.source === 'store' ? el('span', { class: 'muted', text: ' · stored' }) : undefined),
      el('td', { text: p.type }),
      el('td', {}, statusPill(p.status)),
      el('td', { class: 'mono', text: p.local_addr }),
      el('td', { class: 'mono', text: p.remote_addr }),
      el('td', { class: 'err', text: p.next_retry ? `${p.err} · next try ${new Date(p.next_retry).toLocaleTimeString()}` : p.err }),
    ),
  );
  fillTable(document.querySelector('#proxies tbody'), rows, 'No proxies configured.');
  setInspectedProxies(c.inspecting ?? []);
}

/** Proxies or Inspect, from the address's #fragment so a reload or a link keeps the tab. */
function showTab() {
  const tab = location.hash === '#inspect' ? 'inspect' : 'proxies';
  for (const t of ['proxies', 'inspect']) document.getElementById(`tab-${t}`).hidden = t !== tab;
  for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.tab === tab);
}

window.addEventListener('hashchange', showTab);
showTab();
poll(refresh, REFRESH_MS);
void startInspector();
void startStoreEditor();
