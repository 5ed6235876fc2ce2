/** HTTP Basic credentials, checked in constant time; used by http_proxy (Proxy-Authorization) and static_file (Authorization). */
import { sameSecret } from '../util/secret.js';
import { AUTH_FAIL_DELAY_MS } from './limits.js';

export interface Credentials {
  user: string;
  password: string;
}

/** Off when both are empty, as frp. */
export function credentialsFrom(user: string | undefined, password: string | undefined): Credentials | undefined {
  const u = user ?? '';
  const p = password ?? '';
  return u === '' && p === '' ? undefined : { user: u, password: p };
}

/** `Basic base64(user:password)` → credentials; anything else → undefined. */
export function parseBasic(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export type AuthVerdict = 'ok' | 'missing' | 'wrong';

export function checkBasic(expected: Credentials | undefined, header: string | undefined): AuthVerdict {
  if (!expected) return 'ok';
  const got = parseBasic(header);
  if (!got) return 'missing';
  // Both compared, always, so the time taken does not tell which one was wrong.
  const userOk = sameSecret(got.user, expected.user);
  const passwordOk = sameSecret(got.password, expected.password);
  return userOk && passwordOk ? 'ok' : 'wrong';
}

/** Runs `answer` now for a missing header, later for wrong credentials (frp sleeps on a wrong pair). */
export function answerAuthFailure(verdict: AuthVerdict, answer: () => void): void {
  if (verdict === 'wrong') setTimeout(answer, AUTH_FAIL_DELAY_MS).unref();
  else answer();
}
