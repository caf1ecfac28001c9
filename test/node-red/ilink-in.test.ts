import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileStateStore } from '../../shared/store';
import { helper } from '../harness/node-red-test-helper';
import { collect, eventually, onTab, recordStatuses } from './flow-util';
import { configNodeFor, PNG_1X1, useSimulator } from './sim-fixture';
import { allNodes, useHelper } from './use-helper';
import { loadBotFlow } from './load-bot-flow';

describe('ilink-in against the simulator', () => {
  const { userDir } = useHelper('node-red-ilink-in');
  const simulator = useSimulator();

  async function loadReceiver(extra: Record<string, unknown> = {}) {
    const { sim, bot } = await loadBotFlow(simulator(), [
      { id: 'in', type: 'ilink-in', bot: 'bot', wires: [['out']], ...extra },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    return { sim, bot, out: collect('out'), caught: collect('caught'), statuses: recordStatuses('in') };
  }

  it('emits one msg per message: payload = text, topic = sender, msg.ilink = the message', async () => {
    const { sim, bot, out, statuses } = await loadReceiver();
    const injected = sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hello bot' });
    await eventually('a msg', () => out.length === 1);
    const msg = out[0]!;
    expect(msg.payload).toBe('hello bot');
    expect(msg.topic).toBe('alice@im.wechat');
    expect(msg.ilink).toMatchObject({ from: 'alice@im.wechat', messageId: injected.messageId, contextToken: injected.contextToken, text: 'hello bot' });
    expect(JSON.stringify(msg)).not.toContain(bot.token);
    await eventually('green status', () => statuses.some((s) => s.fill === 'green' && s.text === 'ilink-in.status.polling'));
    expect(statuses.find((s) => s.fill === 'yellow')).toMatchObject({ shape: 'ring', text: 'ilink-in.status.connecting' });
  });

  it('filters by type, sender and text', async () => {
    const { sim, bot } = await loadBotFlow(simulator(), [
      { id: 'all', type: 'ilink-in', bot: 'bot', wires: [['allOut']] },
      { id: 'images', type: 'ilink-in', bot: 'bot', kinds: 'image', wires: [['imagesOut']] },
      { id: 'owner', type: 'ilink-in', bot: 'bot', senders: 'owner', wires: [['ownerOut']] },
      { id: 'list', type: 'ilink-in', bot: 'bot', senders: 'list', allowList: 'bob@im.wechat\ncarol@im.wechat', wires: [['listOut']] },
      { id: 'regex', type: 'ilink-in', bot: 'bot', textMode: 'regex', textPattern: '^/status\\b', wires: [['regexOut']] },
      { id: 'contains', type: 'ilink-in', bot: 'bot', textMode: 'contains', textPattern: 'WORLD', wires: [['containsOut']] },
      ...['allOut', 'imagesOut', 'ownerOut', 'listOut', 'regexOut', 'containsOut'].map((id) => ({ id, type: 'helper' })),
    ]);
    const got = Object.fromEntries(['allOut', 'imagesOut', 'ownerOut', 'listOut', 'regexOut', 'containsOut'].map((id) => [id, collect(id)]));
    const image = await sim.cdn.encryptAndStore(PNG_1X1, { kind: 'image' });
    sim.admin.injectMessage({ botId: bot.botId, from: bot.ownerUserId, text: '/status please' });
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hello world' });
    sim.admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', items: [image] });
    // Each message is handed to every receiver before the next one: when "all" has 3, the rest are done.
    await eventually('three messages', () => got.allOut!.length === 3);
    const senders = (id: string) => got[id]!.map((m) => m.topic);
    expect(senders('imagesOut')).toEqual(['bob@im.wechat']);
    expect(senders('ownerOut')).toEqual([bot.ownerUserId]);
    expect(senders('listOut')).toEqual(['bob@im.wechat']);
    expect(senders('regexOut')).toEqual([bot.ownerUserId]);
    expect(senders('containsOut')).toEqual(['alice@im.wechat']);
  });

  it('a bad regex turns the node red and receives nothing', async () => {
    const { statuses } = await loadReceiver({ textMode: 'regex', textPattern: '(' });
    expect(statuses.at(-1)).toMatchObject({ fill: 'red', text: 'ilink-in.status.bad-filter' });
  });

  it('downloads media into msg.payload as a Buffer with filename and mimetype', async () => {
    const { sim, bot, out } = await loadReceiver({ download: true });
    const image = await sim.cdn.encryptAndStore(PNG_1X1, { kind: 'image' });
    const file = await sim.cdn.encryptAndStore(Buffer.from('quarterly numbers\n'), { kind: 'file', fileName: 'report.csv' });
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', items: [image] });
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', items: [file] });
    await eventually('two msgs', () => out.length === 2);
    expect(Buffer.isBuffer(out[0]!.payload)).toBe(true);
    expect(Buffer.compare(out[0]!.payload, PNG_1X1)).toBe(0);
    expect(out[0]).toMatchObject({ filename: 'image.png', mimetype: 'image/png', media: { kind: 'image', size: PNG_1X1.length } });
    expect(out[1]!.payload.toString()).toBe('quarterly numbers\n');
    expect(out[1]).toMatchObject({ filename: 'report.csv', mimetype: 'text/csv' });
  });

  it('session expired (-14): red status and an error a Catch node sees', async () => {
    const { sim, bot, caught, statuses } = await loadReceiver();
    await eventually('polling', () => statuses.some((s) => s.text === 'ilink-in.status.polling'));
    sim.admin.expireSession(bot.botId);
    await eventually('a caught error', () => caught.length === 1, 8_000);
    expect(caught[0]!.error.message).toMatch(/session expired.*scan the QR code again/);
    expect(statuses.at(-1)).toMatchObject({ fill: 'red', shape: 'ring', text: 'ilink-in.status.session-expired' });
    expect(JSON.stringify(caught[0])).not.toContain(bot.token);
  });

  it('a bad WECHAT_ILINK_POLLER_TIMINGS stops the receiver with a red status and an error naming the key', async () => {
    const saved = process.env.WECHAT_ILINK_POLLER_TIMINGS;
    process.env.WECHAT_ILINK_POLLER_TIMINGS = '{"retryMS":100}';
    try {
      const { sim, bot, out, caught, statuses } = await loadReceiver();
      await eventually('a caught error', () => caught.length === 1);
      expect(caught[0]!.error.message).toMatch(/WECHAT_ILINK_POLLER_TIMINGS: unknown key "retryMS" \(known: .*retryMs/);
      expect(statuses.at(-1)).toMatchObject({ fill: 'red', shape: 'ring' });
      sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hi' });
      await new Promise((r) => setTimeout(r, 200));
      expect(out).toEqual([]);
      expect(sim.admin.requests({ endpoint: 'getUpdates', botId: bot.botId })).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.WECHAT_ILINK_POLLER_TIMINGS;
      else process.env.WECHAT_ILINK_POLLER_TIMINGS = saved;
    }
  });

  it('a second config node polling the same bot is refused, and the Catch node hears why', async () => {
    const sim = simulator();
    const bot = sim.admin.createBot();
    await helper.load(
      allNodes,
      onTab([
        configNodeFor(sim, bot, 'botA'),
        configNodeFor(sim, bot, 'botB'),
        { id: 'inA', type: 'ilink-in', bot: 'botA', wires: [[]] },
        { id: 'inB', type: 'ilink-in', bot: 'botB', wires: [[]] },
        { id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ]),
      { botA: { token: bot.token }, botB: { token: bot.token } },
    );
    const caught = collect('caught');
    await eventually('a conflict error', () => caught.length === 1);
    expect(caught[0]!.error.message).toMatch(/another receiver is already polling this bot \(Node-RED config node "test bot"/);
  });

  it('keeps the cursor and dedupe window in a file under userDir: a reload does not repeat messages', async () => {
    const first = await loadReceiver();
    first.sim.admin.injectMessage({ botId: first.bot.botId, from: 'alice@im.wechat', text: 'one' });
    await eventually('first msg', () => first.out.length === 1);
    await helper.unload();

    const stateFile = path.join(userDir, 'wechat-ilink', `${first.bot.botId.replace(/[@.]/g, '-')}.json`);
    const saved = new FileStateStore(stateFile).load();
    expect(saved?.seenMessageIds).toHaveLength(1);
    for (const file of [stateFile, `${stateFile}.journal`]) {
      if (fs.existsSync(file)) expect(fs.readFileSync(file, 'utf8')).not.toContain(first.bot.token);
    }

    // Same bot again (a restart): only the new message comes out.
    await helper.load(
      allNodes,
      onTab([
        configNodeFor(first.sim, first.bot),
        { id: 'in', type: 'ilink-in', bot: 'bot', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]),
      { bot: { token: first.bot.token } },
    );
    const out = collect('out');
    first.sim.admin.injectMessage({ botId: first.bot.botId, from: 'alice@im.wechat', text: 'two' });
    await eventually('second msg', () => out.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(out.map((m) => m.payload)).toEqual(['two']);
  });
});
