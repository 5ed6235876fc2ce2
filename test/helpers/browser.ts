import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Headless Chromium from the system (Debian's `chromium`, which `.ci/run`
 * installs), driven by playwright-core: no browser download at install.
 * playwright gives each launch its own fresh, temporary profile.
 */
export function findChromium(): string | undefined {
  const candidates = [process.env.BURROW_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => typeof p === 'string' && p !== '' && existsSync(p));
}

/**
 * Why browser tests are skipped here, or false when Chromium is present.
 * CI sets BURROW_REQUIRE_CHROMIUM so a missing browser fails there instead of
 * skipping quietly.
 */
export const NO_CHROMIUM: string | false =
  findChromium() || process.env.BURROW_REQUIRE_CHROMIUM ? false : 'no Chromium on this machine (install the chromium package or set BURROW_CHROMIUM)';

export interface HeadlessBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<HeadlessBrowser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(String(NO_CHROMIUM));
  // The machine has no outside network: without these flags Chromium keeps
  // trying to reach its update and sync services at every start.
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}
