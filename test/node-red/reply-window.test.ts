/**
 * The server's sending rules (§10) in Node-RED: the budget error reaches a
 * Catch node before any request, a queued send goes out when the user writes,
 * msg.ilink carries the window, and ilink-in can warn before a window closes.
 */
import { collect, eventually, node, recordStatuses } from './flow-util';
import { useSimulator } from './sim-fixture';
import { useHelper } from './use-helper';
import { loadBotFlow } from './load-bot-flow';

const ALICE = 'alice@im.wechat';

describe('the reply window in Node-RED', () => {
  useHelper('node-red-reply-window');
  const simulator = useSimulator();

  async function load(sendProps: Record<string, unknown> = {}, inProps: Record<string, unknown> = {}) {
    const { sim, bot } = await loadBotFlow(simulator(), [
      { id: 'in', type: 'ilink-in', bot: 'bot', wires: [['inOut']], ...inProps },
      { id: 'inOut', type: 'helper' },
      { id: 'send', type: 'ilink-send', bot: 'bot', outputs: 1, wires: [['sent']], ...sendProps },
      { id: 'sent', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    return { sim, bot, inbound: collect('inOut'), sent: collect('sent'), caught: collect('caught'), statuses: recordStatuses('send') };
  }

  async function userWrites(ctx: Awaited<ReturnType<typeof load>>, text: string) {
    const before = ctx.inbound.filter((m) => m.topic !== 'window-closing').length;
    ctx.sim.admin.injectMessage({ botId: ctx.bot.botId, from: ALICE, text });
    await eventually('inbound msg', () => ctx.inbound.filter((m) => m.topic !== 'window-closing').length > before);
    return ctx.inbound.filter((m) => m.topic !== 'window-closing').at(-1)!;
  }

  const sendRequests = (ctx: Awaited<ReturnType<typeof load>>) => ctx.sim.admin.requests({ endpoint: 'sendMessage' }).length;

  it('msg.ilink carries the window; the 11th message reaches the Catch node with the rule, before any request', async () => {
    const ctx = await load();
    const inbound = await userWrites(ctx, 'hi');
    expect(inbound.ilink.replyWindow).toMatchObject({ userId: ALICE, open: true, known: true, sendsLeft: 10 });
    for (let i = 1; i <= 10; i++) node('send').receive({ ...inbound, payload: `answer ${i}` });
    await eventually('ten sent', () => ctx.sent.length === 10);
    expect(ctx.sent.at(-1)!.sent.replyWindow).toMatchObject({ open: false, sendsLeft: 0, closedBy: 'budget' });
    const before = sendRequests(ctx);
    node('send').receive({ ...inbound, payload: 'answer 11' });
    await eventually('caught', () => ctx.caught.length === 1);
    const caught = ctx.caught[0]!;
    expect(caught.error.message).toMatch(/^ReplyWindowError: all 10 messages iLink allows per user message to alice@im\.wechat are used up/);
    expect(caught.error.source).toMatchObject({ id: 'send', type: 'ilink-send' });
    expect(caught.payload).toBe('answer 11'); // the msg is intact for the Catch flow
    expect(sendRequests(ctx)).toBe(before);
    expect(ctx.statuses.at(-1)).toMatchObject({ fill: 'red' });
  });

  it('"When closed: queue": the send waits (yellow status) and goes out when the user writes again', async () => {
    const ctx = await load({ whenClosed: 'queue', mode: 'fixed', to: ALICE });
    await userWrites(ctx, 'hi');
    for (let i = 1; i <= 10; i++) node('send').receive({ payload: `news ${i}` });
    await eventually('ten sent', () => ctx.sent.length === 10);
    const before = sendRequests(ctx);
    node('send').receive({ payload: 'later news' });
    await eventually('queued', () => ctx.sent.length === 11);
    expect(ctx.sent[10]!.sent).toMatchObject({ queued: true, outboxId: expect.any(String) });
    expect(ctx.statuses.at(-1)).toMatchObject({ fill: 'yellow', shape: 'ring' });
    expect(sendRequests(ctx)).toBe(before);
    expect(ctx.caught).toEqual([]);

    await userWrites(ctx, 'back');
    const record = await ctx.sim.admin.waitForSent((r) => r.to === ALICE && r.msg.item_list?.[0]?.text_item?.text === 'later news', 5000);
    // Sent with the new message's context token.
    expect(record.msg.context_token).toBe(ctx.inbound.filter((m) => m.topic !== 'window-closing').at(-1)!.ilink.contextToken);
  });

  it('"Long answers: fit the budget": a long answer sends 10 (the 10th ends with the hint, yellow status), the rest after the user writes again', async () => {
    const ctx = await load({ longAnswers: 'fit', continuationHint: '（回复“继续”查看更多）' });
    const inbound = await userWrites(ctx, 'tell me everything');
    const answer = Array.from({ length: 1500 }, (_, i) => `第${i + 1}句：长回答需要按额度发送，其余的内容要等用户再次发消息以后才能发出。`).join('');
    node('send').receive({ ...inbound, payload: answer });
    await eventually('sent', () => ctx.sent.length === 1);
    const texts = () => ctx.sim.admin.sentMessages({ botId: ctx.bot.botId, to: ALICE }).map((r) => r.msg.item_list?.[0]?.text_item?.text ?? '');
    expect(texts()).toHaveLength(10);
    expect(texts()[9]!.endsWith('\n（回复“继续”查看更多）')).toBe(true);
    expect(ctx.sent[0]!.sent).toMatchObject({ queued: true, outboxId: expect.any(String), messageIds: expect.any(Array) });
    expect(ctx.sent[0]!.sent.messageIds).toHaveLength(10);
    expect(ctx.statuses.at(-1)).toMatchObject({ fill: 'yellow', shape: 'dot' });
    expect(ctx.caught).toEqual([]);

    await userWrites(ctx, '继续');
    await eventually('the rest', () => texts().length > 10 && !texts().at(-1)!.includes('继续'), 5000);
    const squeeze = (t: string) => t.replace(/\s+/g, '');
    await eventually('all of it', () => squeeze(texts().join('').replace('（回复“继续”查看更多）', '')) === squeeze(answer), 5000);
  });

  it('ilink-in with "Window closing" sends a window-closing msg before a window closes (here: a lead longer than the window, so at once)', async () => {
    const ctx = await load({}, { windowClosingMinutes: 24 * 60 });
    await userWrites(ctx, 'hi');
    await eventually('window-closing msg', () => ctx.inbound.some((m) => m.topic === 'window-closing'));
    const warning = ctx.inbound.find((m) => m.topic === 'window-closing')!;
    expect(warning.to).toBe(ALICE);
    expect(warning.payload).toMatchObject({ userId: ALICE, open: true, sendsLeft: 10 });
  });
});
