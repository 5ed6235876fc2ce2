import { BurrowError } from './errors.js';

/**
 * Races `work` against a timer. The timer is always cleared so a finished
 * exchange never keeps the event loop alive.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BurrowError('BURROW_TIMEOUT', `${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
