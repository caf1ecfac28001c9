/**
 * The example flows as a user meets them: Import → Examples → n8n-nodes-wechat-ilink
 * lists each file by its name; each file imports into the real editor with every
 * node known and valid; each deploys alone in a real Node-RED 5 against the
 * simulator and starts clean (nothing logged as an error, no red status, every
 * wechat in polling). And the Flow Library's rule holds: every node of the
 * package, config nodes aside, is used by some example.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchBrowser, type TestBrowser } from '../harness/chromium';
import { startNodeRed, type NodeRedFlowNode, type NodeRedInstance } from '../harness/node-red';
import { projectRoot } from '../harness/output';
import { watchStatuses, type StatusWatch } from './comms-status';
import { CONFIG_ID, EXAMPLES_DIR, readExample } from './runtime-flow';
import { PNG_1X1, useSimulator } from './sim-fixture';

jest.setTimeout(180_000);

const MODULE = 'n8n-nodes-wechat-ilink';
const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
const ourTypes = Object.keys(manifest['node-red'].nodes as Record<string, string>);
const exampleFiles = fs.readdirSync(EXAMPLES_DIR).sort();
const exampleNames = exampleFiles.map((file) => file.replace(/\.json$/, ''));

/** The palette category of one of our nodes, from its editor file (what the Flow Library reads). */
function categoryOf(type: string): string {
  const html = fs.readFileSync(path.join(projectRoot, 'node-red', `${type}.html`), 'utf8');
  const category = /registerType\(\s*'([^']+)'\s*,\s*\{[\s\S]*?category:\s*'([^']+)'/.exec(html);
  if (!category || category[1] !== type) throw new Error(`node-red/${type}.html registers no '${type}' with a category`);
  return category[2]!;
}

const CJK = /[\u4e00-\u9fff]/;

describe('the example files', () => {
  it('examples/ holds only flow files (.json), no folder: Node-RED lists every folder, the Flow Library parses every file', () => {
    const entries = fs.readdirSync(EXAMPLES_DIR, { withFileTypes: true });
    expect(entries.filter((entry) => !entry.isFile() || !entry.name.endsWith('.json')).map((entry) => entry.name)).toEqual([]);
    // Named like Node-RED's own examples ("01 - Catch error"): the number orders the list.
    for (const name of exampleNames) expect(name).toMatch(/^\d\d - [A-Z][a-z]+( [a-z]+)*$/);
  });

  it("the Flow Library's rule: every node of the package, config nodes aside, is used by an example", () => {
    const used = new Set(exampleFiles.flatMap((file) => readExample(file).map((node) => node.type)));
    const paletteTypes = ourTypes.filter((type) => categoryOf(type) !== 'config');
    expect(paletteTypes.length).toBe(ourTypes.length - 1);
    expect(paletteTypes.filter((type) => !used.has(type))).toEqual([]);
  });

  describe.each(exampleFiles)('%s', (file) => {
    const flow = readExample(file);
    const byId = new Map(flow.map((node) => [node.id, node]));

    it('is one tab whose ids are unique and whose wires and bot references all resolve in the file', () => {
      expect(byId.size).toBe(flow.length);
      const tabs = flow.filter((node) => node.type === 'tab');
      expect(tabs).toHaveLength(1);
      const configs = flow.filter((node) => node.type === 'ilink-config');
      expect(configs.map((node) => node.id)).toEqual([CONFIG_ID]);
      for (const node of flow) {
        if (node.type === 'tab' || node.type === 'ilink-config') {
          expect({ id: node.id, z: node.z }).toEqual({ id: node.id, z: undefined });
          continue;
        }
        expect({ id: node.id, z: node.z }).toEqual({ id: node.id, z: tabs[0]!.id });
        const dangling = (node.wires ?? []).flat().filter((target) => !byId.has(target));
        expect({ id: node.id, dangling }).toEqual({ id: node.id, dangling: [] });
        if (ourTypes.includes(node.type)) expect({ id: node.id, bot: node.bot }).toEqual({ id: node.id, bot: CONFIG_ID });
      }
      // A token is only ever typed in through the login: an example carries none.
      expect(flow.filter((node) => node.credentials !== undefined)).toEqual([]);
    });

    it('has a comment that says what it shows and how to use it, in English and in Chinese', () => {
      const comments = flow.filter((node) => node.type === 'comment');
      expect(comments.length).toBeGreaterThan(0);
      const header = comments[0]!;
      expect(header.name).toMatch(/[A-Za-z]{3}/);
      expect(header.name).toMatch(CJK);
      const [english, chinese] = String(header.info).split('\n---\n');
      expect(english).toMatch(/^Shows /);
      expect(english).not.toMatch(CJK);
      expect(chinese).toMatch(/演示/);
      // How to start: the login, the deploy (en and zh).
      expect(header.info).toMatch(/Log in with WeChat/);
      expect(header.info).toMatch(/使用微信登录/);
    });
  });
});

describe('in a real Node-RED 5 with the simulator', () => {
  const simulator = useSimulator();
  let red: NodeRedInstance;
  let statuses: StatusWatch;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    // Node-RED's default settings let function nodes load modules: the demo bot's MD5 uses the built-in crypto.
    red = await startNodeRed({ nodesDir: [projectRoot], name: 'node-red-examples', functionExternalModules: true });
    statuses = await watchStatuses(red.url);
  });
  afterAll(async () => {
    statuses?.close();
    await browser?.close();
    await red?.stop();
  });

  /** What Import → Examples fetches when the user picks a file. */
  const fetchExample = (name: string) => red.request<NodeRedFlowNode[]>('GET', `/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`);

  /** The example pointed at a fresh simulated bot, the token in the deploy's credentials (as after a login). */
  function deployOnSimulator(flow: NodeRedFlowNode[], extra: NodeRedFlowNode[] = []) {
    const sim = simulator();
    const bot = sim.admin.createBot();
    const nodes = flow.map((node) =>
      node.id === CONFIG_ID ? { ...node, baseUrl: bot.baseUrl, botId: bot.botId, ownerUserId: bot.ownerUserId, cdnBaseUrl: sim.cdnBaseUrl } : node,
    );
    return { bot, deployed: red.deploy([...nodes, ...extra], { [CONFIG_ID]: { token: bot.token } }) };
  }

  it('Import → Examples → n8n-nodes-wechat-ilink lists every example file by its name, with no folder in between', async () => {
    const listed = await red.request<Array<string | { fn: string }>>('GET', `/library/examples/flows/${MODULE}`);
    expect(listed.map((entry) => (typeof entry === 'string' ? `folder ${entry}` : entry.fn)).sort()).toEqual(exampleNames);
  });

  it.each(exampleNames)('%s: deployed alone, it starts clean: no error, no red status, every wechat in polling', async (name) => {
    const flow = await fetchExample(name);
    const known = new Set((await red.nodes()).flatMap((set) => set.types));
    expect(flow.map((node) => node.type).filter((type) => type !== 'tab' && !known.has(type))).toEqual([]);

    // An inject that fires once the flow runs, into a function that sets a status: the
    // statuses the nodes set while starting (a missing bot's red one) reach the editor before it.
    const tab = flow.find((node) => node.type === 'tab')!.id;
    const settled = { id: 'ffee0000000000f2', type: 'function', z: tab, name: 'settled', func: "node.status({ text: 'settled' });\nreturn null;", outputs: 0, x: 0, y: 0, wires: [] };
    const starter = { id: 'ffee0000000000f1', type: 'inject', z: tab, props: [], once: true, onceDelay: 0.1, repeat: '', x: 0, y: 0, wires: [[settled.id]] };
    const logMark = red.logText().length;
    const statusMark = statuses.history.length;
    await deployOnSimulator(flow, [starter, settled]).deployed;
    await statuses.waitFor(settled.id, (status) => status.text === 'settled', { since: statusMark });
    for (const node of flow.filter((n) => n.type === 'ilink-in')) {
      await statuses.waitFor(node.id, (status) => status.text === 'ilink-in.status.polling', { since: statusMark });
    }

    const ids = new Set(flow.map((node) => node.id));
    const shown = statuses.history.slice(statusMark).filter((entry) => ids.has(entry.id));
    expect(shown.filter((entry) => entry.status.fill === 'red')).toEqual([]);
    expect(red.logText().slice(logMark).split('\n').filter((line) => /\[(error|warn)\]/.test(line))).toEqual([]);
  });

  it('03 - Download and upload media: a photo is downloaded by wechat media, uploaded again, and comes back with its size', async () => {
    const sim = simulator();
    const flow = await fetchExample('03 - Download and upload media');
    const statusMark = statuses.history.length;
    const { bot, deployed } = deployOnSimulator(flow);
    await deployed;
    await statuses.waitFor(flow.find((node) => node.type === 'ilink-in')!.id, (status) => status.text === 'ilink-in.status.polling', { since: statusMark });
    const image = await sim.cdn.encryptAndStore(PNG_1X1, { kind: 'image' });
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', items: [image] });
    const caption = await sim.admin.waitForSent((r) => r.botId === bot.botId && !!r.msg.item_list?.[0]?.text_item, 15_000);
    expect(caption.msg.item_list![0]!.text_item!.text).toBe(`Downloaded image.png (${PNG_1X1.length} bytes); here it is again:`);
    const echoed = await sim.admin.waitForSent((r) => r.botId === bot.botId && !!r.msg.item_list?.[0]?.image_item, 15_000);
    expect(echoed.to).toBe('alice@im.wechat');
    const media = (echoed.msg.item_list![0] as any).image_item.media;
    expect(sim.cdn.decryptStored(media.encrypt_query_param, media.aes_key)!.equals(PNG_1X1)).toBe(true);
  });

  it('in the editor, every example imports (as Import → Examples does) with every node known and valid', async () => {
    browser = await launchBrowser({ name: 'examples-import' });
    const page = await browser.newPage();
    await page.goto(red.url, { waitUntil: 'domcontentloaded' });
    await page.locator('.red-ui-palette-node[data-palette-type="ilink-in"]').waitFor({ state: 'attached', timeout: 30_000 });
    for (const name of exampleNames) {
      const flow = await fetchExample(name);
      const imported = await page.evaluate((nodes) => {
        const RED = (globalThis as any).RED;
        // One example at a time into an empty workspace, with the dialog's options (the config node would conflict otherwise).
        RED.nodes.clear();
        RED.view.importNodes(nodes, { generateIds: false, addFlow: false });
        const out: Array<{ id: string; type: string; known: boolean; valid: boolean; errors: unknown }> = [];
        const add = (n: any) => out.push({ id: n.id, type: n.type, known: !!RED.nodes.getType(n.type), valid: n.valid !== false, errors: n.validationErrors ?? [] });
        RED.nodes.eachNode(add);
        RED.nodes.eachConfig(add);
        return out;
      }, flow);
      expect({ name, count: imported.length }).toEqual({ name, count: flow.filter((node) => node.type !== 'tab').length });
      expect({ name, broken: imported.filter((node) => !node.known || !node.valid) }).toEqual({ name, broken: [] });
    }
  });
});
