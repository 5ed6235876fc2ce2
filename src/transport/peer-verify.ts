import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

/**
 * The one case where OpenSSL and Go's verifier disagree on a certificate a
 * user's CA signed: a leaf whose subject equals its CA's (as frp's docs and
 * its e2e suite make them). OpenSSL takes such a leaf for self-issued and
 * reports it as self-signed; Go follows the signature and accepts it. Only
 * after OpenSSL's verdict is one of these is the peer checked again, the way
 * Go does: signed directly by one of the trusted CAs, both within their
 * validity, the extended key usage allowing the role, and (for a server) the
 * host name. Any other verdict stands.
 */
const SAME_SUBJECT_VERDICTS: ReadonlySet<string> = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

const EKU_ANY = '2.5.29.37.0';
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Every certificate of a PEM bundle (a `trustedCaFile`); ones that do not parse are skipped (OpenSSL rejected them too). */
export function parseCaBundle(pem: string | Buffer): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const out: X509Certificate[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    try {
      out.push(new X509Certificate(m[0]));
    } catch {
      // not a certificate OpenSSL would have used either
    }
  }
  return out;
}

export interface PeerCheck {
  /** the trusted CAs (the `ca` given to the TLS context) */
  cas: readonly X509Certificate[];
  /** the server name to match (client side); undefined on the server side */
  host?: string;
  role: 'server' | 'client';
}

/**
 * Undefined when `socket`'s peer is trusted (OpenSSL said so, or the
 * same-subject case passes Go's checks); else the reason, as text.
 */
export function peerRejection(socket: tls.TLSSocket, check: PeerCheck): string | undefined {
  if (socket.authorized) return undefined;
  const verdict = String(socket.authorizationError ?? 'the peer sent no certificate');
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return 'the peer sent no certificate';
  // Node keeps only the code of a name mismatch: the message names the host and the certificate's names.
  if (verdict === 'ERR_TLS_CERT_ALTNAME_INVALID' && check.host !== undefined) {
    return tls.checkServerIdentity(check.host, leaf.toLegacyObject())?.message ?? verdict;
  }
  if (!SAME_SUBJECT_VERDICTS.has(verdict)) return verdict;
  const now = Date.now();
  const current = (c: X509Certificate): boolean => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
  const issuer = check.cas.find((ca) => ca.ca && leaf.issuer === ca.subject && current(ca) && leaf.verify(ca.publicKey));
  // A certificate that is really self-signed fails the signature check against the CA's key.
  if (!issuer || !current(leaf)) return verdict;
  const usages = leaf.keyUsage;
  const wanted = check.role === 'server' ? EKU_SERVER_AUTH : EKU_CLIENT_AUTH;
  if (usages && usages.length > 0 && !usages.includes(wanted) && !usages.includes(EKU_ANY)) {
    return `the certificate is not for TLS ${check.role} use (extended key usage)`;
  }
  if (check.host !== undefined) {
    const err = tls.checkServerIdentity(check.host, leaf.toLegacyObject());
    if (err) return err.message;
  }
  return undefined;
}
