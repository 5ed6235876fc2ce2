import { readFileSync } from 'node:fs';
import type { ServerConfig } from '../config/types.js';
import { certificateFingerprint, loadOrCreateServerCertificate } from '../transport/generated-cert.js';

/** The bind port's certificate: the configured files, or one the server made and keeps. */
export interface BindCertificate {
  cert: string | Buffer;
  key: string | Buffer;
  /** the form clients pin with transport.tls.serverFingerprint; '' when the file cannot be read as a certificate */
  fingerprint: string;
  /** where it comes from, for the log line */
  source: string;
}

export function loadBindCertificate(tls: ServerConfig['transport']['tls']): BindCertificate {
  const cert = tls.certFile ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : loadOrCreateServerCertificate(tls.generatedCertDir);
  let fingerprint = '';
  try {
    fingerprint = 'fingerprint' in cert ? cert.fingerprint : certificateFingerprint(cert.cert);
  } catch {
    // An unusable certificate file is reported by the TLS setup, with OpenSSL's reason.
  }
  return { cert: cert.cert, key: cert.key, fingerprint, source: 'source' in cert ? cert.source : tls.certFile };
}
