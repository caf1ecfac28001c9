import { collect, eventually, node, recordStatuses } from './flow-util';
import { PNG_1X1, useSimulator } from './sim-fixture';
import { useHelper } from './use-helper';
import { loadBotFlow } from './load-bot-flow';

describe('ilink-media, ilink-typing and ilink-recall against the simulator', () => {
  useHelper('node-red-ilink-media');
  const simulator = useSimulator({ typingDisplayMs: 60_000 });

  async function load(flow: Array<Record<string, unknown>>) {
    const { sim, bot } = await loadBotFlow(simulator(), [
      { id: 'in', type: 'ilink-in', bot: 'bot', wires: [['inOut']] },
      { id: 'inOut', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
      ...(flow as any[]),
    ]);
    const inbound = collect('inOut');
    const caught = collect('caught');
    const userWrites = async (from: string, options: { text?: string; items?: any[] } = { text: 'hi' }) => {
      const before = inbound.length;
      sim.admin.injectMessage({ botId: bot.botId, from, ...options });
      await eventually('inbound msg', () => inbound.length > before);
      return inbound.at(-1)!;
    };
    return { sim, bot, caught, userWrites };
  }

  it('downloads and decrypts the media of an inbound msg', async () => {
    const ctx = await load([
      { id: 'media', type: 'ilink-media', bot: 'bot', operation: 'download', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = collect('out');
    const video = Buffer.alloc(5000, 7);
    const item = await ctx.sim.cdn.encryptAndStore(video, { kind: 'video' });
    const inbound = await ctx.userWrites('alice@im.wechat', { items: [item] });
    node('media').receive(inbound);
    await eventually('downloaded', () => out.length === 1);
    expect(Buffer.compare(out[0]!.payload, video)).toBe(0);
    expect(out[0]).toMatchObject({ filename: 'video.mp4', mimetype: 'video/mp4', media: { kind: 'video', size: 5000 } });
  });

  it('a sender\'s hostile file name reaches msg.filename safe to write; the raw one is msg.media.originalFileName (wechat in and wechat media)', async () => {
    const ctx = await load([
      { id: 'media', type: 'ilink-media', bot: 'bot', operation: 'download', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'in2', type: 'ilink-in', bot: 'bot', download: true, wires: [['in2Out']] },
      { id: 'in2Out', type: 'helper' },
    ]);
    const out = collect('out');
    const downloaded = collect('in2Out');
    const item = await ctx.sim.cdn.encryptAndStore(Buffer.from('module.exports = {}'), { kind: 'file', fileName: '../../settings.js' });
    const inbound = await ctx.userWrites('alice@im.wechat', { items: [item] });
    node('media').receive(inbound);
    await eventually('downloaded by wechat media', () => out.length === 1);
    await eventually('downloaded by wechat in', () => downloaded.length === 1);
    for (const msg of [out[0]!, downloaded[0]!]) {
      expect(msg.filename).toBe('settings.js');
      expect(msg.media).toMatchObject({ kind: 'file', originalFileName: '../../settings.js' });
      expect(msg.payload.toString()).toBe('module.exports = {}');
    }
  });

  it('a msg without media goes to Catch', async () => {
    const ctx = await load([{ id: 'media', type: 'ilink-media', bot: 'bot', operation: 'download', wires: [[]] }]);
    const inbound = await ctx.userWrites('alice@im.wechat');
    node('media').receive(inbound);
    await eventually('caught', () => ctx.caught.length === 1);
    expect(ctx.caught[0]!.error.message).toMatch(/no image, video, file or voice/);
  });

  it('uploads a Buffer; ilink-send sends the reference; the simulator decrypts the same bytes', async () => {
    const ctx = await load([
      { id: 'media', type: 'ilink-media', bot: 'bot', operation: 'upload', wires: [['send', 'uploaded']] },
      { id: 'uploaded', type: 'helper' },
      { id: 'send', type: 'ilink-send', bot: 'bot', wires: [] },
    ]);
    const uploaded = collect('uploaded');
    const inbound = await ctx.userWrites('alice@im.wechat');
    node('media').receive({ ...inbound, payload: PNG_1X1, filename: 'dot.png' });
    const record = await ctx.sim.admin.waitForSent((r) => r.botId === ctx.bot.botId && r.to === 'alice@im.wechat' && !!r.msg.item_list?.[0]?.image_item);
    const media = record.msg.item_list![0]!.image_item!.media!;
    expect(ctx.sim.cdn.decryptStored(media.encrypt_query_param!, media.aes_key!)!.equals(PNG_1X1)).toBe(true);
    expect(uploaded[0]!.payload).toMatchObject({ fileName: 'dot.png', plainSize: PNG_1X1.length });
  });

  it('typing: on with one msg, off with msg.typing = false', async () => {
    const ctx = await load([
      { id: 'typing', type: 'ilink-typing', bot: 'bot', action: 'start', timeout: 30, wires: [['passed']] },
      { id: 'passed', type: 'helper' },
    ]);
    const passed = collect('passed');
    const statuses = recordStatuses('typing');
    const inbound = await ctx.userWrites('alice@im.wechat');
    node('typing').receive(inbound);
    await eventually('typing on', () => ctx.sim.admin.typingState(ctx.bot.botId, 'alice@im.wechat').typing);
    expect(passed).toHaveLength(1);
    expect(statuses.at(-1)).toMatchObject({ fill: 'blue', text: 'ilink-typing.status.typing' });
    node('typing').receive({ ...inbound, typing: false });
    await eventually('typing off', () => !ctx.sim.admin.typingState(ctx.bot.botId, 'alice@im.wechat').typing);
    expect(statuses.at(-1)).toMatchObject({ text: 'ilink-typing.status.stopped' });
  });

  it('typing stops by itself after the timeout', async () => {
    const ctx = await load([{ id: 'typing', type: 'ilink-typing', bot: 'bot', action: 'start', timeout: 0.3, wires: [[]] }]);
    const inbound = await ctx.userWrites('alice@im.wechat');
    node('typing').receive(inbound);
    await eventually('typing on', () => ctx.sim.admin.typingState(ctx.bot.botId, 'alice@im.wechat').typing);
    await eventually('typing off', () => ctx.sim.admin.typingState(ctx.bot.botId, 'alice@im.wechat').status === 2, 3_000);
  });

  it('recall (experimental): send with output → recall the message ID', async () => {
    const ctx = await load([
      { id: 'send', type: 'ilink-send', bot: 'bot', outputs: 1, wires: [['recall']] },
      { id: 'recall', type: 'ilink-recall', bot: 'bot', wires: [['recalled']] },
      { id: 'recalled', type: 'helper' },
    ]);
    const recalled = collect('recalled');
    const inbound = await ctx.userWrites('alice@im.wechat');
    node('send').receive({ ...inbound, payload: 'oops' });
    await eventually('recalled', () => recalled.length === 1);
    const record = ctx.sim.admin.sentMessages({ botId: ctx.bot.botId, to: 'alice@im.wechat' })[0]!;
    expect(recalled[0]!.recalled).toBe(record.messageId);
    expect(record.recalled).toBe(true);
  });

  it('recall with a bad ID goes to Catch', async () => {
    const ctx = await load([{ id: 'recall', type: 'ilink-recall', bot: 'bot', wires: [[]] }]);
    node('recall').receive({ payload: 'not-a-number' });
    await eventually('caught', () => ctx.caught.length === 1);
    expect(ctx.caught[0]!.error.message).toMatch(/recall needs the numeric server message ID/);
  });
});
