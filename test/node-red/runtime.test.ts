import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileStateStore, type BotStateSnapshot } from '../../shared/store';
import { startNodeRed, type NodeRedInstance } from '../harness/node-red';
import { projectRoot } from '../harness/output';
import { examplesFlow, CONFIG_ID } from './runtime-flow';
import { PNG_1X1, useSimulator, type SimBot } from './sim-fixture';

jest.setTimeout(90_000);

const ALICE = 'alice@im.wechat';
const SEND_FILE_INJECT = '5e4df11e00000003';

function mediaOf(item: any) {
  return item.image_item?.media ?? item.file_item?.media ?? item.video_item?.media;
}

// The package as users get it: Node-RED loads it from nodesDir = the project root
// (package.json's node-red block → dist/node-red/), the example flows are deployed
// through the admin API with the token in credentials, the simulator plays WeChat.
describe.each([5, 4] as const)('real Node-RED %i runtime with the example flows', (version) => {
  const simulator = useSimulator();
  let red: NodeRedInstance;
  let bot: SimBot;
  let firstMessageId = '';

  beforeAll(async () => {
    const sim = simulator();
    bot = sim.admin.createBot();
    red = await startNodeRed({ version, nodesDir: [projectRoot], name: `node-red-${version}-ilink` });
    await red.deploy(examplesFlow(['01 - Echo bot.json', '02 - Media echo.json', '04 - Send a file.json'], sim, bot, ALICE), {
      [CONFIG_ID]: { token: bot.token },
    });
  });
  afterAll(async () => {
    await red?.stop();
  });

  it('loads every node type of the package without errors', async () => {
    const sets = (await red.nodes()).filter((s) => s.module === 'n8n-nodes-wechat-ilink');
    expect(sets.flatMap((s) => s.types).sort()).toEqual(['ilink-config', 'ilink-in', 'ilink-media', 'ilink-recall', 'ilink-send', 'ilink-typing']);
    expect(sets.filter((s) => s.err)).toEqual([]);
    // Editor side: the catalogues are served from dist/node-red/locales/<lang>/<node>.json.
    const zh = await red.request<Record<string, any>>('GET', '/locales/n8n-nodes-wechat-ilink/ilink-in?lng=zh-CN');
    expect(zh['ilink-in'].status['session-expired']).toBe('会话已过期 — 请重新登录');
    // Import → Examples → n8n-nodes-wechat-ilink lists the flows of <package>/examples/ by file name, no folder in between.
    const examples = await red.request<Array<string | { fn: string }>>('GET', '/library/examples/flows/n8n-nodes-wechat-ilink');
    expect(examples).toContainEqual({ fn: '01 - Echo bot' });
    expect(examples.filter((entry) => typeof entry === 'string')).toEqual([]);
  });

  it('echo flow: a message injected at the simulator gets its answer', async () => {
    const sim = simulator();
    firstMessageId = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'hello node-red' }).messageId;
    const record = await sim.admin.waitForSent((r) => r.botId === bot.botId && r.msg.item_list?.[0]?.text_item?.text === 'You said: hello node-red', 15_000);
    expect(record.to).toBe(ALICE);
  });

  it('media flow: the user\'s image comes out of ilink-in as a Buffer with the right bytes and goes back intact', async () => {
    const sim = simulator();
    const image = await sim.cdn.encryptAndStore(PNG_1X1, { kind: 'image' });
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, items: [image] });
    const caption = await sim.admin.waitForSent((r) => r.botId === bot.botId && /^Got image\.png/.test(r.msg.item_list?.[0]?.text_item?.text ?? ''), 15_000);
    expect(caption.msg.item_list![0]!.text_item!.text).toBe(`Got image.png (image/png, ${PNG_1X1.length} bytes)`);
    const echoed = await sim.admin.waitForSent((r) => r.botId === bot.botId && !!r.msg.item_list?.[0]?.image_item, 15_000);
    const media = mediaOf(echoed.msg.item_list![0]);
    expect(sim.cdn.decryptStored(media.encrypt_query_param, media.aes_key)!.equals(PNG_1X1)).toBe(true);
  });

  it('send-a-file flow: a Buffer made by the flow arrives decrypted at the simulator', async () => {
    const sim = simulator();
    await red.injectNode(SEND_FILE_INJECT);
    const sent = await sim.admin.waitForSent((r) => r.botId === bot.botId && r.msg.item_list?.[0]?.file_item?.file_name === 'report.txt', 15_000);
    const media = mediaOf(sent.msg.item_list![0]);
    expect(sim.cdn.decryptStored(media.encrypt_query_param, media.aes_key)!.toString('utf8')).toMatch(/^Daily report\n\d{4}-\d\d-\d\dT/);
  });

  it('a restart of the runtime does not repeat old messages', async () => {
    const sim = simulator();
    const echoes = () =>
      sim.admin
        .sentMessages({ botId: bot.botId })
        .map((r) => r.msg.item_list?.[0]?.text_item?.text ?? '')
        .filter((text) => text.startsWith('You said:'));
    const before = echoes();
    expect(before.length).toBeGreaterThan(0);
    // What survives the restart: cursor, context tokens and handled message IDs, in the userDir.
    const stateFile = path.join(red.userDir, 'wechat-ilink', `${bot.botId.replace(/[@.]/g, '-')}.json`);
    const saved = new FileStateStore(stateFile).load() as BotStateSnapshot;
    expect(saved.cursor).not.toBe('');
    expect(saved.seenMessageIds).toContain(firstMessageId);
    expect(Object.keys(saved.contextTokens)).toContain(ALICE);
    await red.restart();
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'after restart' });
    await sim.admin.waitForSent((r) => r.botId === bot.botId && r.msg.item_list?.[0]?.text_item?.text === 'You said: after restart', 20_000);
    // Only the new message was answered: the cursor and dedupe window survived in the userDir.
    expect(echoes()).toEqual([...before, 'You said: after restart']);
  });

  it('session expired (-14): the status turns red and the error reaches the Catch node', async () => {
    const sim = simulator();
    sim.admin.expireSession(bot.botId);
    await red.waitForLog(/\[debug:errors\][\s\S]*session expired \(iLink code -14 on getupdates\)/, 20_000);
    await red.waitForLog(/\[debug:status\][\s\S]*fill: 'red'[\s\S]*ilink-in\.status\.session-expired/, 5_000);
  });

  it('the token is in no flow export, credentials answer and log line', async () => {
    const flows = await red.getFlows();
    expect(flows.flows.find((n) => n.id === CONFIG_ID)).toMatchObject({ botId: bot.botId });
    expect(JSON.stringify(flows)).not.toContain(bot.token);
    const credentials = await red.request<Record<string, unknown>>('GET', `/credentials/ilink-config/${CONFIG_ID}`);
    expect(credentials).toEqual({ has_token: true });
    expect(red.logText()).not.toContain(bot.token);
    expect(red.logText()).toContain('[debug:inbound]');
  });
});
