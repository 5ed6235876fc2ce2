import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded the first time it is used, synchronously, so a
 * caller that is not async stays so. For packages most processes never need
 * (a YAML parser when the config is TOML, ws when no websocket client comes,
 * snappy without useCompression, prom-client without enablePrometheus):
 * every one loaded at start costs every process its modules' memory and its
 * start time. Type the result with `typeof import('pkg')`.
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
