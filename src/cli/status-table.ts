/**
 * `frpc status` output: "Proxy Status...", then per proxy type (in frp's
 * order) its name in capitals and a table of its proxies. Columns are as wide
 * as their widest cell plus two spaces, every cell padded, as frp's table
 * printer does; a cell with line breaks continues on the next row.
 */

/** One entry of GET /api/status (frp's JSON names). */
export interface StatusEntry {
  name?: string;
  status?: string;
  local_addr?: string;
  plugin?: string;
  remote_addr?: string;
  err?: string;
}

/** frpc prints the types in this order (cmd/frpc/sub/proxy.go). */
const TYPE_ORDER = ['tcp', 'udp', 'tcpmux', 'http', 'https', 'stcp', 'sudp', 'xtcp'] as const;

const PADDING = 2;
const HEADER = ['Name', 'Status', 'LocalAddr', 'Plugin', 'RemoteAddr', 'Error'];

/** Width in code points, as frp counts runes. */
const width = (s: string): number => [...s].length;

export function formatTable(header: string[], rows: string[][]): string {
  const lines: string[][] = [];
  for (const row of rows) {
    const cells = row.map((c) => c.split('\n'));
    const height = Math.max(1, ...cells.map((c) => c.length));
    for (let i = 0; i < height; i++) lines.push(header.map((_, j) => cells[j]?.[i] ?? ''));
  }
  const widths = header.map((h, j) => Math.max(width(h), ...lines.map((l) => width(l[j]!))) + PADDING);
  const pad = (cells: string[]): string => cells.map((c, j) => c + ' '.repeat(Math.max(0, widths[j]! - width(c)))).join('') + '\n';
  return pad(header) + lines.map(pad).join('');
}

/** The whole `frpc status` text for an /api/status answer. */
export function formatStatus(byType: Record<string, StatusEntry[] | undefined>): string {
  let out = 'Proxy Status...\n\n';
  for (const type of TYPE_ORDER) {
    const entries = byType[type];
    if (!entries || entries.length === 0) continue;
    const rows = entries.map((e) => [e.name ?? '', e.status ?? '', e.local_addr ?? '', e.plugin ?? '', e.remote_addr ?? '', e.err ?? '']);
    out += `${type.toUpperCase()}\n${formatTable(HEADER, rows)}\n`;
  }
  return out;
}
