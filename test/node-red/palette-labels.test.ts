/**
 * The palette names of our nodes, per editor language. Node-RED's core nodes
 * keep their type names in the palette ("mqtt in"), except where they give a
 * paletteLabel through their catalogue: the file nodes, "写入文件" / "读取文件"
 * in zh-CN. Ours do the same: each palette node's zh-CN catalogue has its own
 * Chinese paletteLabel, and the real editor shows it when its language is zh-CN.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchBrowser, type TestBrowser } from '../harness/chromium';
import { startNodeRed, type NodeRedInstance } from '../harness/node-red';
import { projectRoot } from '../harness/output';

jest.setTimeout(120_000);

const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
const ourTypes = Object.keys(manifest['node-red'].nodes as Record<string, string>);
/** Config nodes have no place in the palette (and no paletteLabel). */
const paletteTypes = ourTypes.filter((type) => type !== 'ilink-config');

function catalogue(lang: 'en-US' | 'zh-CN', type: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(projectRoot, 'node-red', 'locales', lang, `${type}.json`), 'utf8'))[type];
}
const labels = (lang: 'en-US' | 'zh-CN') => Object.fromEntries(paletteTypes.map((type) => [type, catalogue(lang, type).paletteLabel]));

describe('the catalogues', () => {
  it.each(paletteTypes)('%s: the editor takes its palette name from the catalogue', (type) => {
    const html = fs.readFileSync(path.join(projectRoot, 'node-red', `${type}.html`), 'utf8');
    expect(html).toContain(`paletteLabel: function () { return this._('${type}.paletteLabel'); }`);
  });

  it('every palette node has a Chinese paletteLabel in zh-CN, not the English one', () => {
    const en = labels('en-US');
    const zh = labels('zh-CN');
    for (const type of paletteTypes) {
      expect({ type, en: en[type] }).toEqual({ type, en: expect.stringMatching(/^wechat [a-z]+$/) });
      expect({ type, zh: zh[type] }).toEqual({ type, zh: expect.stringMatching(/^微信[\u4e00-\u9fff]+$/) });
    }
    expect(new Set(Object.values(zh)).size).toBe(paletteTypes.length);
  });
});

describe('the real Node-RED 5 editor', () => {
  let red: NodeRedInstance;
  let browser: TestBrowser;

  beforeAll(async () => {
    red = await startNodeRed({ nodesDir: [projectRoot], name: 'node-red-palette-labels' });
    browser = await launchBrowser({ name: 'palette-labels' });
  });
  afterAll(async () => {
    await browser?.close();
    await red?.stop();
  });

  /** The palette as the editor draws it in `lang` (the language a user picks in Settings → View). */
  async function paletteIn(lang: 'en-US' | 'zh-CN') {
    const page = await browser.newPage();
    await page.addInitScript((language) => localStorage.setItem('editor-language', language), lang);
    await page.goto(red.url, { waitUntil: 'domcontentloaded' });
    await page.locator(`.red-ui-palette-node[data-palette-type="${paletteTypes[0]}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    const shown = await page.evaluate((types) => {
      const out: Record<string, { text: string; lines: number }> = {};
      for (const type of types) {
        const label = (globalThis as any).document.querySelector(`.red-ui-palette-node[data-palette-type="${type}"] .red-ui-palette-label`);
        // The editor wraps a label at spaces into lines (<br>), and cuts a word that is too wide.
        out[type] = { text: String(label?.textContent ?? '(not in the palette)').replace(/\s+/g, ' '), lines: label ? String(label.innerHTML).split('<br>').length : 0 };
      }
      return out;
    }, paletteTypes);
    await page.locator(`.red-ui-palette-node[data-palette-type="${paletteTypes[0]}"]`).scrollIntoViewIfNeeded();
    await browser.screenshot(page, `palette-${lang}`);
    await page.close();
    return shown;
  }

  it('shows the English names in en-US and the Chinese ones, each on one line, in zh-CN', async () => {
    const en = await paletteIn('en-US');
    expect(Object.fromEntries(Object.entries(en).map(([type, shown]) => [type, shown.text]))).toEqual(labels('en-US'));
    const zh = await paletteIn('zh-CN');
    expect(zh).toEqual(Object.fromEntries(Object.entries(labels('zh-CN')).map(([type, text]) => [type, { text, lines: 1 }])));
  });
});
