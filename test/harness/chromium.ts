import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { namedOutputDir, outputDir } from './output';

/** Debian's Chromium (scripts/hosts/install-chromium.sh); playwright's own download cannot work offline. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a headless browser that stays off the network except where a test sends it. */
export const chromiumFlags = [
  '--headless',
  '--no-sandbox', // we run as root in CI
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage', // small /dev/shm in containers
];

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly userDataDir: string;
  newPage(): Promise<Page>;
  /** Full-page PNG under .test-output/screenshots/<name>.png; returns the path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(options: { name?: string } = {}): Promise<TestBrowser> {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: run 'bash scripts/hosts/install-chromium.sh' (apt-get, needs root).`);
  }
  // A persistent context is playwright's way to give Chromium our own
  // --user-data-dir (a temp folder per launch, never the user's profile).
  const userDataDir = path.join(outputDir(options.name ?? 'chromium'), 'profile');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    userDataDir,
    newPage: () => context.newPage(),
    async screenshot(page, name) {
      const file = path.join(namedOutputDir('screenshots'), `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => context.close(),
  };
}
