import { collect, eventually, node, recordStatuses } from './flow-util';
import { PNG_1X1, useSimulator, type Simulator } from './sim-fixture';
import { useHelper } from './use-helper';
import { loadBotFlow } from './load-bot-flow';

/** The decrypted bytes of a media item the bot sent, read back from the simulator's CDN. */
function sentBytes(sim: Simulator, item: any): Buffer | undefined {
  const media = item.image_item?.media ?? item.file_item?.media ?? item.video_item?.media;
  return sim.cdn.decryptStored(media.encrypt_query_param, media.aes_key);
}

describe('ilink-send against the simulator', () => {
  useHelper('node-red-ilink-send');
  const simulator = useSimulator();

  async function load(sendProps: Record<string, unknown> = {}) {
    const { sim, bot } = await loadBotFlow(simulator(), [
      { id: 'in', type: 'ilink-in', bot: 'bot', wires: [['inOut']] },
      { id: 'inOut', type: 'helper' },
      { id: 'send', type: 'ilink-send', bot: 'bot', outputs: 1, wires: [['sent']], ...sendProps },
      { id: 'sent', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    return { sim, bot, inbound: collect('inOut'), sent: collect('sent'), caught: collect('caught'), statuses: recordStatuses('send') };
  }

  /** A user writes first (iLink needs their context token); returns the msg ilink-in emitted. */
  async function userWrites(ctx: Awaited<ReturnType<typeof load>>, from: string, text = 'hi') {
    const before = ctx.inbound.length;
    ctx.sim.admin.injectMessage({ botId: ctx.bot.botId, from, text });
    await eventually('inbound msg', () => ctx.inbound.length > before);
    return ctx.inbound.at(-1)!;
  }

  it('replies to a msg from ilink-in, reusing its context token, and outputs the sent message IDs', async () => {
    const ctx = await load();
    const inbound = await userWrites(ctx, 'alice@im.wechat');
    node('send').receive({ ...inbound, payload: 'You said: hi' });
    const record = await ctx.sim.admin.waitForSent((r) => r.botId === ctx.bot.botId && r.to === 'alice@im.wechat');
    expect(record.msg.item_list?.[0]?.text_item?.text).toBe('You said: hi');
    expect(record.msg.context_token).toBe(inbound.ilink.contextToken);
    await eventually('output msg', () => ctx.sent.length === 1);
    expect(ctx.sent[0]!.sent).toMatchObject({ to: 'alice@im.wechat', messageIds: [record.messageId] });
    expect(ctx.sent[0]!.messageId).toBe(record.messageId);
    expect(ctx.statuses.at(-1)).toMatchObject({ fill: 'green' });
  });

  it('the flow gets the msg before the poller records it as handled (the reply is not queued behind bookkeeping)', async () => {
    const ctx = await load();
    const client = (node('bot') as unknown as { connection: { client: { state: { hasSeen(id: string): boolean } } } }).connection.client;
    const seenOnArrival: boolean[] = [];
    node('inOut').on('input', (msg: Record<string, any>) => seenOnArrival.push(client.state.hasSeen(msg.ilink.messageId)));
    const inbound = await userWrites(ctx, 'alice@im.wechat');
    expect(seenOnArrival).toEqual([false]);
    // …and it is recorded right after, so a restart does not repeat it.
    await eventually('recorded as handled', () => client.state.hasSeen(inbound.ilink.messageId));
  });

  it('sends to msg.to (or the configured user) with the stored context token', async () => {
    const ctx = await load({ to: 'bob@im.wechat' });
    await userWrites(ctx, 'alice@im.wechat');
    await userWrites(ctx, 'bob@im.wechat');
    node('send').receive({ payload: 'to alice', to: 'alice@im.wechat' });
    node('send').receive({ payload: 'to bob' });
    const alice = await ctx.sim.admin.waitForSent((r) => r.botId === ctx.bot.botId && r.to === 'alice@im.wechat');
    const bob = await ctx.sim.admin.waitForSent((r) => r.botId === ctx.bot.botId && r.to === 'bob@im.wechat');
    expect(alice.msg.item_list?.[0]?.text_item?.text).toBe('to alice');
    expect(bob.msg.item_list?.[0]?.text_item?.text).toBe('to bob');
  });

  it('"fixed" mode forwards a msg from ilink-in to the configured user', async () => {
    const ctx = await load({ mode: 'fixed', to: 'bob@im.wechat' });
    await userWrites(ctx, 'bob@im.wechat');
    const fromAlice = await userWrites(ctx, 'alice@im.wechat', 'forward me');
    node('send').receive({ ...fromAlice });
    const record = await ctx.sim.admin.waitForSent((r) => r.botId === ctx.bot.botId && r.to === 'bob@im.wechat');
    expect(record.msg.item_list?.[0]?.text_item?.text).toBe('forward me');
  });

  it('sends a Buffer with msg.filename as media (caption first); the simulator decrypts the same bytes', async () => {
    const ctx = await load();
    const inbound = await userWrites(ctx, 'alice@im.wechat');
    const pdf = Buffer.from('%PDF-1.4 pretend this is a pdf\n'.repeat(50));
    node('send').receive({ ...inbound, payload: PNG_1X1, filename: 'dot.png', caption: 'a picture' });
    node('send').receive({ ...inbound, payload: pdf, filename: 'doc.pdf' });
    await eventually('two outputs', () => ctx.sent.length === 2, 8_000);
    const items = ctx.sim.admin.sentMessages({ botId: ctx.bot.botId, to: 'alice@im.wechat' }).map((r) => r.msg.item_list![0]!);
    const image = items.find((i) => i.image_item);
    const file = items.find((i) => i.file_item);
    // The caption goes out before its picture.
    expect(items.findIndex((i) => i.text_item?.text === 'a picture')).toBeLessThan(items.indexOf(image!));
    expect(sentBytes(ctx.sim, image)!.equals(PNG_1X1)).toBe(true);
    expect(file!.file_item?.file_name).toBe('doc.pdf');
    expect(sentBytes(ctx.sim, file)!.equals(pdf)).toBe(true);
  });

  it('sends an array of items: texts and {data, filename}', async () => {
    const ctx = await load();
    const inbound = await userWrites(ctx, 'alice@im.wechat');
    node('send').receive({ ...inbound, payload: ['first', { data: Buffer.from('a,b\n1,2\n'), filename: 'table.csv' }, 'last'] });
    await eventually('output', () => ctx.sent.length === 1 || ctx.caught.length > 0, 8_000);
    expect(ctx.caught.map((m) => m.error.message)).toEqual([]);
    const items = ctx.sim.admin.sentMessages({ botId: ctx.bot.botId, to: 'alice@im.wechat' }).map((r) => r.msg.item_list![0]!);
    expect(items.map((i) => i.text_item?.text ?? i.file_item?.file_name)).toEqual(['first', 'table.csv', 'last']);
    expect(ctx.sent[0]!.sent.messageIds).toHaveLength(3);
  });

  it.each([
    ['a Buffer without msg.filename', { payload: Buffer.from('x'), to: 'alice@im.wechat' }, /msg\.filename is missing/],
    ['no recipient', { payload: 'hi' }, /no recipient/],
    ['an object payload', { payload: { a: 1 }, to: 'alice@im.wechat' }, /must be a text, a Buffer/],
    ['a user who never wrote', { payload: 'hi', to: 'stranger@im.wechat' }, /no context token for stranger@im\.wechat/],
  ])('bad input (%s) goes to Catch with a red status', async (_name, msg, pattern) => {
    const ctx = await load();
    await userWrites(ctx, 'alice@im.wechat');
    node('send').receive(msg);
    await eventually('caught', () => ctx.caught.length === 1);
    expect(ctx.caught[0]!.error.message).toMatch(pattern);
    expect(ctx.caught[0]!.error.source).toMatchObject({ id: 'send', type: 'ilink-send' });
    expect(ctx.statuses.at(-1)).toMatchObject({ fill: 'red', shape: 'ring' });
    expect(ctx.sent).toHaveLength(0);
  });

  it('-14 on sendmessage: Catch sees "session expired", status says log in again', async () => {
    const ctx = await load();
    const inbound = await userWrites(ctx, 'alice@im.wechat');
    ctx.sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'errcode-14' });
    node('send').receive({ ...inbound, payload: 'hello?' });
    await eventually('caught', () => ctx.caught.length >= 1);
    expect(ctx.caught[0]!.error.message).toMatch(/session expired/);
    expect(ctx.statuses.at(-1)).toMatchObject({ fill: 'red', text: 'ilink-send.status.session-expired' });
    expect(JSON.stringify(ctx.caught[0])).not.toContain(ctx.bot.token);
  });
});
