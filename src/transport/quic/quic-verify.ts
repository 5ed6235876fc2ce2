/**
 * Certificate checks for QUIC, done in TypeScript over the DER chain the
 * handshake produced. quiche's BoringSSL verifier is not used for them: as
 * frp's Go verifier, and as burrow's TCP TLS (peer-verify.ts), a leaf whose
 * subject equals its CA's must be accepted, and the host name, extended key
 * usage and a pinned fingerprint are checked the same way on every transport.
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { certificateFingerprint, normalizeFingerprint } from '../generated-cert.js';

const EKU_ANY = '2.5.29.37.0';
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** A peer's chain longer than this is refused before any signature is checked. */
const MAX_CHAIN = 8;

export interface ChainCheck {
  cas: readonly X509Certificate[];
  /** the server name to match (client side) */
  host?: string;
  role: 'server' | 'client';
}

/**
 * Undefined when the chain leads from its leaf to one of `cas`, every
 * certificate on the way current and signed by the next, the leaf's usage
 * fitting `role` and its names `host`; else the reason.
 */
export function chainRejection(chain: readonly Uint8Array[], check: ChainCheck): string | undefined {
  if (chain.length === 0) return 'the peer sent no certificate';
  if (chain.length > MAX_CHAIN) return `the peer sent ${chain.length} certificates (at most ${MAX_CHAIN})`;
  let certs: X509Certificate[];
  try {
    certs = chain.map((der) => new X509Certificate(der));
  } catch {
    return 'the peer sent a certificate that does not parse';
  }
  const now = Date.now();
  const current = (c: X509Certificate): boolean => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
  const signedBy = (c: X509Certificate, issuer: X509Certificate): boolean => c.issuer === issuer.subject && c.verify(issuer.publicKey);
  const leaf = certs[0] as X509Certificate;
  let trusted = false;
  for (let i = 0; i < certs.length && !trusted; i++) {
    const c = certs[i] as X509Certificate;
    if (!current(c)) return i === 0 ? 'the certificate has expired or is not yet valid' : 'a certificate of the chain has expired or is not yet valid';
    if (check.cas.some((ca) => ca.ca && current(ca) && signedBy(c, ca))) trusted = true;
    else {
      const next = certs[i + 1];
      if (!next?.ca || !signedBy(c, next)) return 'certificate signed by unknown authority';
    }
  }
  if (!trusted) return 'certificate signed by unknown authority';
  const usages = leaf.keyUsage;
  const wanted = check.role === 'server' ? EKU_SERVER_AUTH : EKU_CLIENT_AUTH;
  if (usages && usages.length > 0 && !usages.includes(wanted) && !usages.includes(EKU_ANY)) {
    return `the certificate is not for TLS ${check.role} use (extended key usage)`;
  }
  if (check.host !== undefined) return tls.checkServerIdentity(check.host, leaf.toLegacyObject())?.message;
  return undefined;
}

/** Undefined when the leaf has the pinned fingerprint; else what it has instead. */
export function fingerprintRejection(chain: readonly Uint8Array[], expected: string): string | undefined {
  const der = chain[0];
  const got = der ? certificateFingerprint(new X509Certificate(der)) : 'no certificate';
  return der && normalizeFingerprint(got) === normalizeFingerprint(expected) ? undefined : got;
}
