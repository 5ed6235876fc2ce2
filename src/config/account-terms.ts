/**
 * The values of a `[[users]]` table that are more than a number or a string:
 * traffic sizes, expiry dates and domain globs. Pure, so the config checks
 * refuse a bad value at load and the server reads the same value the same way.
 */

const SIZE_UNITS: Readonly<Record<string, number>> = {
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** Bytes for "100GB" (binary units as frp's bandwidth quantities, extended to GB and TB); "" is 0 = none. Throws a readable Error. */
export function trafficBytes(quantity: string): number {
  const s = quantity.trim();
  if (s === '') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB)$/.exec(s);
  if (!m) throw new Error(`"${quantity}" is not a size (use a number and KB, MB, GB or TB, e.g. "100GB")`);
  const bytes = Math.trunc(Number(m[1]) * SIZE_UNITS[m[2]!]!);
  if (bytes <= 0) throw new Error(`"${quantity}" is not above 0`);
  return bytes;
}

/**
 * The instant past which an account is expired: a date ("2027-06-30") is
 * usable to its last second (UTC), an ISO instant is exact. "" = never
 * (undefined). Throws a readable Error.
 */
export function expiryInstant(expires: string): number | undefined {
  const s = expires.trim();
  if (s === '') return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const start = Date.parse(`${s}T00:00:00Z`);
    if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== s) throw new Error(`"${expires}" is not a calendar date`);
    return start + 86_400_000;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s)) {
    const at = Date.parse(s);
    if (!Number.isNaN(at)) return at;
  }
  throw new Error(`"${expires}" is not a date ("2027-06-30") or an ISO instant with its zone ("2027-06-30T12:00:00Z")`);
}

/**
 * A domain glob as a matcher: `*` stands for one or more whole labels
 * (`*.alice.example.com` matches `a.alice.example.com` and `a.b.alice.example.com`,
 * not `alice.example.com`); the rest is matched without case. Throws a readable Error.
 */
export function domainGlob(glob: string): RegExp {
  const g = glob.trim().toLowerCase();
  if (!/^(\*|[a-z0-9_-]+)(\.(\*|[a-z0-9_-]+))*$/.test(g)) {
    throw new Error(`"${glob}" is not a domain glob (labels of letters, digits, "-", "_", or "*" for one or more labels)`);
  }
  const body = g
    .split('.')
    .map((label) => (label === '*' ? '[a-z0-9_-]+(?:\\.[a-z0-9_-]+)*' : label))
    .join('\\.');
  return new RegExp(`^${body}$`);
}

/** The start (ms, UTC) of the quota period that holds `now`: the latest `resetDay` of a month (or that month's last day) not after now. */
export function quotaPeriodStart(resetDay: number, now: number): number {
  const d = new Date(now);
  const startIn = (year: number, month: number): number => {
    const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    return Date.UTC(year, month, Math.min(resetDay, last));
  };
  const here = startIn(d.getUTCFullYear(), d.getUTCMonth());
  if (here <= now) return here;
  return startIn(d.getUTCFullYear(), d.getUTCMonth() - 1);
}
