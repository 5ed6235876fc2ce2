// Helpers shared by the server dashboard and the client admin page.
// Everything shown is set through textContent or attributes, never parsed as
// HTML: names and errors come from remote clients.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

export async function getJSON(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function formatBytes(n) {
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond) {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A status word as a coloured pill: green when working, red when failed. */
export function statusPill(status) {
  const s = String(status);
  const kind = ['online', 'running', 'healthy'].includes(s) ? 'ok' : /error|fail|offline|closed/.test(s) ? 'bad' : 'warn';
  return el('span', { class: `pill ${kind}`, text: s });
}

/** A small SVG line of the last values (e.g. bytes per second), scaled to its own maximum. */
export function sparkline(values, width = 120, height = 24) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  if (values.length < 2) return svg;
  const max = Math.max(1, ...values);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
  const line = document.createElementNS(ns, 'path');
  line.setAttribute('d', `M${points.join('L')}`);
  const area = document.createElementNS(ns, 'path');
  area.setAttribute('class', 'area');
  area.setAttribute('d', `M0,${height}L${points.join('L')}L${width},${height}Z`);
  svg.append(area, line);
  return svg;
}

/** Replaces a table body's rows, or shows a one-line note when there are none. */
export function fillTable(tbody, rows, emptyText) {
  const cols = tbody.closest('table')?.querySelectorAll('th').length ?? 1;
  if (rows.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', { class: 'empty', colspan: cols, text: emptyText })));
    return;
  }
  tbody.replaceChildren(...rows);
}

/** Shows (or hides, with no message) the banner for a failed refresh. */
export function showProblem(message) {
  const box = document.getElementById('problem');
  if (!box) return;
  box.textContent = message ?? '';
  box.classList.toggle('shown', Boolean(message));
}

/** Calls refresh now and then every `ms`, never two at once. */
export function poll(refresh, ms) {
  const tick = async () => {
    try {
      await refresh();
      showProblem(undefined);
    } catch (err) {
      showProblem(`Could not refresh: ${err instanceof Error ? err.message : String(err)}`);
    }
    setTimeout(tick, ms);
  };
  void tick();
}
