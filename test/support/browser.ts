import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium package: the tests never download a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless Chromium for the dashboard tests. A missing browser fails the test with what to
 * install (CI installs it in .ci/run): a skipped browser test would hide a broken dashboard.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`the dashboard tests need Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium), as .ci/run does`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

/** A page that records what it logs as errors and its uncaught exceptions. */
export async function pageWithErrors(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // A bound, not a wait: Chromium shares 2 cores with the rest of `npm test`, where loading a
  // page once took over 5 s.
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return { page, errors };
}
