import * as fs from 'node:fs';
import { launchBrowser, TestBrowser } from './chromium';
import { harnessFixtureRoot } from './fixtures';
import { NodeRedInstance, startNodeRed } from './node-red';

jest.setTimeout(90_000);

describe('Chromium harness', () => {
  let red: NodeRedInstance;
  let browser: TestBrowser;

  beforeAll(async () => {
    red = await startNodeRed({ nodesDir: [harnessFixtureRoot], name: 'node-red-editor' });
    const t0 = Date.now();
    browser = await launchBrowser();
    console.log(`Chromium launched in ${Date.now() - t0} ms`);
  });
  afterAll(async () => {
    await browser?.close();
    await red?.stop();
  });

  it('opens the Node-RED editor, finds the fixture node in the palette and takes a screenshot', async () => {
    const page = await browser.newPage();
    const t0 = Date.now();
    await page.goto(red.url, { waitUntil: 'domcontentloaded' });
    // The palette entry appears once the editor has loaded every node's HTML.
    await page.locator('.red-ui-palette-node[data-palette-type="harness-echo"]').waitFor({ state: 'attached', timeout: 30_000 });
    // Filter the palette so the screenshot shows our node, not just the core ones.
    // Typed key by key: the palette filters on keyup, not on a programmatic fill().
    await page.locator('#red-ui-palette-search input').pressSequentially('harness');
    await page.locator('.red-ui-palette-node[data-palette-type="inject"]').waitFor({ state: 'hidden', timeout: 5_000 });
    await page.locator('.red-ui-palette-node[data-palette-type="harness-echo"]').waitFor({ state: 'visible', timeout: 5_000 });
    console.log(`Node-RED editor ready in ${Date.now() - t0} ms`);
    expect(await page.title()).toMatch(/Node-RED/);
    const file = await browser.screenshot(page, 'node-red-editor');
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  });
});
