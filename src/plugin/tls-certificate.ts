import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { generateSelfSignedCertificate } from '../transport/self-signed-cert.js';
import { BurrowError, describeError } from '../util/errors.js';

/**
 * The certificate a TLS-terminating plugin presents: crtPath/keyPath when
 * both are set, else (as frp) a self-signed one made at start and kept in
 * memory only.
 */
export function pluginSecureContext(crtPath: string | undefined, keyPath: string | undefined, pluginType: string): tls.SecureContext {
  let pair: { cert: string; key: string };
  if (crtPath && keyPath) {
    try {
      pair = { cert: readFileSync(crtPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
    } catch (err) {
      throw new BurrowError('BURROW_CONFIG_INVALID', `plugin ${pluginType}: cannot read plugin.crtPath/keyPath (${describeError(err)})`, { cause: err });
    }
  } else {
    pair = generateSelfSignedCertificate({ commonName: 'burrow-plugin' });
  }
  try {
    return tls.createSecureContext(pair);
  } catch (err) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `plugin ${pluginType}: plugin.crtPath/keyPath do not form a usable certificate (${describeError(err)})`, {
      cause: err,
    });
  }
}
