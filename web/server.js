// The server dashboard: reads frp's dashboard API every second and keeps a
// short per-proxy history of bytes per second for the sparklines.
import { el, fillTable, formatBytes, formatRate, getJSON, poll, sparkline, statusPill } from './common.js';
import { refreshUsers } from './users.js';

const REFRESH_MS = 1000;
/** two minutes of one-second samples */
const HISTORY = 120;
const PROXY_TYPES = ['tcp', 'udp', 'http', 'https', 'tcpmux', 'stcp', 'sudp', 'xtcp'];

/** per proxy: last total bytes, when, and the recent rates */
const history = new Map();

function sampleRate(p, now) {
  const total = (p.todayTrafficIn || 0) + (p.todayTrafficOut || 0);
  const h = history.get(p.name) ?? { total, at: now, rates: [] };
  if (h.at !== now) {
    const seconds = Math.max((now - h.at) / 1000, 0.001);
    h.rates.push(Math.max(0, (total - h.total) / seconds));
    if (h.rates.length > HISTORY) h.rates.shift();
  }
  h.total = total;
  h.at = now;
  history.set(p.name, h);
  return h.rates;
}

/** Where the world reaches a proxy: its port, or its domains with the vhost port when not the default. */
function publicAddress(p, info) {
  const c = p.conf;
  if (!c) return '';
  if (c.remotePort) return `:${c.remotePort}`;
  const domains = [...(c.customDomains ?? [])];
  if (c.subdomain && info.subdomainHost) domains.push(`${c.subdomain}.${info.subdomainHost}`);
  const port = { http: info.vhostHTTPPort, https: info.vhostHTTPSPort, tcpmux: info.tcpmuxHTTPConnectPort }[c.type];
  const suffix = port && port !== 80 && port !== 443 ? `:${port}` : '';
  return domains.map((d) => d + suffix).join(', ');
}

function card(label, value, id) {
  return el('div', { class: 'card', 'data-card': id }, el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }));
}

async function refresh() {
  const info = await getJSON('/api/serverinfo');
  const types = PROXY_TYPES.filter((t) => info.proxyTypeCount?.[t] > 0);
  const lists = await Promise.all(types.map((t) => getJSON(`/api/proxy/${t}`).then((r) => r.proxies ?? [])));
  const proxies = lists.flat().sort((a, b) => a.name.localeCompare(b.name));
  const clients = await getJSON('/api/clients');
  const now = Date.now();

  const ports = [`bind :${info.bindPort}`];
  if (info.vhostHTTPPort) ports.push(`http :${info.vhostHTTPPort}`);
  if (info.vhostHTTPSPort) ports.push(`https :${info.vhostHTTPSPort}`);
  if (info.tcpmuxHTTPConnectPort) ports.push(`tcpmux :${info.tcpmuxHTTPConnectPort}`);
  document.getElementById('server-sub').textContent = `frp ${info.version} compatible · ${ports.join(' · ')}`;

  document
    .getElementById('cards')
    .replaceChildren(
      card('Clients online', String(info.clientCounts ?? 0), 'clients'),
      card('Proxies', String(proxies.filter((p) => p.status === 'online').length), 'proxies'),
      card('Connections', String(info.curConns ?? 0), 'conns'),
      card('In today', formatBytes(info.totalTrafficIn), 'in'),
      card('Out today', formatBytes(info.totalTrafficOut), 'out'),
    );

  const proxyRows = proxies.map((p) => {
    const rates = sampleRate(p, now);
    const last = rates.length > 0 ? rates[rates.length - 1] : 0;
    return el(
      'tr',
      { 'data-proxy': p.name },
      el('td', { class: 'mono', text: p.name }),
      el('td', { text: p.conf?.type ?? '' }),
      el('td', {}, statusPill(p.status)),
      el('td', { text: p.user ?? '' }),
      el('td', { class: 'mono', text: publicAddress(p, info) }),
      el('td', { class: 'num', 'data-field': 'conns', text: p.curConns }),
      el('td', { class: 'num', 'data-field': 'in', 'data-bytes': p.todayTrafficIn, text: formatBytes(p.todayTrafficIn) }),
      el('td', { class: 'num', 'data-field': 'out', 'data-bytes': p.todayTrafficOut, text: formatBytes(p.todayTrafficOut) }),
      el('td', { title: `now ${formatRate(last)}` }, sparkline(rates)),
    );
  });
  fillTable(document.querySelector('#proxies tbody'), proxyRows, 'No proxies yet. Start a client with a proxy and it shows up here.');

  const clientRows = clients.map((c) =>
    el(
      'tr',
      { 'data-client': c.key },
      el('td', { class: 'mono', text: c.clientID || c.runID }),
      el('td', { text: c.user }),
      el('td', { text: c.hostname }),
      el('td', { class: 'mono', text: c.clientIP ?? '' }),
      el('td', { text: c.version ?? '' }),
      el('td', {}, statusPill(c.online ? 'online' : 'offline')),
      el('td', { text: new Date(c.lastConnectedAt * 1000).toLocaleString() }),
    ),
  );
  fillTable(document.querySelector('#clients tbody'), clientRows, 'No client has logged in yet.');
  await refreshUsers();
  if (info.cluster) await refreshCluster();
}

/** Every node of the cluster, from /api/cluster (asked on a node of a cluster only: serverinfo says `cluster`). */
async function refreshCluster() {
  let view;
  try {
    view = await getJSON('/api/cluster');
  } catch {
    document.getElementById('cluster').hidden = true;
    return;
  }
  document.getElementById('cluster').hidden = false;
  const t = view.totals ?? { nodes: 0, clients: 0, proxies: 0, connections: 0 };
  document.getElementById('cluster-sub').textContent =
    `this node: ${view.node} · Redis ${view.redis} · ${t.nodes} nodes · ${t.clients} clients · ${t.proxies} proxies · ${t.connections} connections`;
  const nodes = view.nodes ?? [];
  const nodeRows = nodes.map((n) =>
    el(
      'tr',
      { 'data-node': n.node },
      el('td', { class: 'mono', text: n.node === view.node ? `${n.node} (this node)` : n.node }),
      el('td', { class: 'mono', text: n.link }),
      el('td', { class: 'num', text: n.totals.clients }),
      el('td', { class: 'num', text: n.totals.proxies }),
      el('td', { class: 'num', text: n.totals.connections }),
      el('td', { class: 'num', text: formatBytes(n.totals.trafficIn) }),
      el('td', { class: 'num', text: formatBytes(n.totals.trafficOut) }),
      el('td', { class: 'num', text: `${Math.ceil(n.expiresInMs / 1000)} s` }),
    ),
  );
  fillTable(document.querySelector('#cluster-nodes tbody'), nodeRows, 'No node has published its statistics yet.');
  const proxyRows = nodes.flatMap((n) =>
    n.clients.flatMap((c) =>
      c.proxies.map((p) =>
        el(
          'tr',
          { 'data-cluster-proxy': p.name },
          el('td', { class: 'mono', text: p.name }),
          el('td', { text: p.type }),
          el('td', { class: 'mono', text: n.node }),
          el('td', { text: c.user }),
          el('td', { text: c.hostname }),
          el('td', { class: 'num', text: p.connections }),
          el('td', { class: 'num', text: formatBytes(p.trafficIn) }),
          el('td', { class: 'num', text: formatBytes(p.trafficOut) }),
        ),
      ),
    ),
  );
  fillTable(document.querySelector('#cluster-proxies tbody'), proxyRows, 'No proxy on any node.');
}

poll(refresh, REFRESH_MS);
