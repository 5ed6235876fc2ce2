import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ServerConfig } from '../config/types.js';
import { GENERATED_CERT_FILE } from '../transport/generated-cert.js';
import type { Logger } from '../util/logger.js';

/**
 * What the command line adds to a server config: the --allow-empty-token
 * flag, and a home for the generated certificate beside the config file
 * (the library API keeps it in memory unless told where).
 */
export function withServerCliDefaults(config: ServerConfig, configFile: string | undefined, allowEmptyToken: boolean, log: Logger): ServerConfig {
  const tls = config.transport.tls;
  let generatedCertDir = tls.generatedCertDir;
  if (tls.certFile === '' && generatedCertDir === '' && configFile !== undefined) {
    const dir = dirname(resolve(configFile));
    const kept = existsSync(join(dir, GENERATED_CERT_FILE));
    if (kept || isWritableDir(dir)) generatedCertDir = dir;
    else
      log.warn(
        `cannot keep the generated certificate beside the config (${dir} is not writable): it changes at each start; set transport.tls.generatedCertDir`,
      );
  }
  // The users' traffic counters live beside the config (frps.toml → frps.toml.usage.json) unless usageFile says where.
  const usageFile =
    config.usageFile || ((config.users.length > 0 || config.usersFile !== '') && configFile !== undefined ? `${resolve(configFile)}.usage.json` : '');
  return {
    ...config,
    usageFile,
    auth: { ...config.auth, allowEmptyToken: config.auth.allowEmptyToken || allowEmptyToken },
    transport: { ...config.transport, tls: { ...tls, generatedCertDir } },
  };
}

function isWritableDir(dir: string): boolean {
  try {
    accessSync(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}
