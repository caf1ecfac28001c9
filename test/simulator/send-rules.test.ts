/**
 * The sending rules of §10 on the simulator clock: reply window (#156, #185,
 * #204, #309), budget (#81, #202), rate limit (#142, #270), the clock and the
 * reply-window view (in-process and over /_admin). No real waiting.
 */
import { callApi, http, textMessage, useSimulator } from './helpers';
import type { Simulator } from '../../simulator';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;
const USER = 'alice@im.wechat';

function conversation(sim: Simulator, user = USER) {
  const bot = sim.admin.createBot();
  const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: user, text: 'hi' });
  return { bot, contextToken, user };
}

async function send(sim: Simulator, bot: { token: string }, contextToken: string | undefined, text = 'reply', user = USER) {
  return (await callApi(sim, 'sendMessage', textMessage(user, contextToken, text), { token: bot.token })).json;
}

describe('reply window (§10)', () => {
  // A stopped base clock: only advanceClock moves time, so the boundaries are exact.
  const sim = useSimulator({ clock: { now: () => 1_800_000_000_000 } });

  test('closes 24 h after the user’s last message: a send at 23:59 goes out, at 24:00 {"ret":-2}', async () => {
    const { bot, contextToken } = conversation(sim());
    sim().admin.advanceClock(24 * HOUR - MINUTE);
    expect(await send(sim(), bot, contextToken, 'at 23:59')).toMatchObject({ ret: 0 });
    sim().admin.advanceClock(MINUTE - 1);
    expect(await send(sim(), bot, contextToken, 'at 23:59:59.999')).toMatchObject({ ret: 0 });
    sim().admin.advanceClock(1);
    expect(await send(sim(), bot, contextToken, 'at 24:00')).toEqual({ ret: -2 });
    expect(sim().admin.sentMessages().map((record) => record.msg.item_list?.[0].text_item?.text)).toEqual(['at 23:59', 'at 23:59:59.999']);
  });

  test('the bot’s own sends do not extend it', async () => {
    const { bot, contextToken } = conversation(sim());
    for (const hours of [6, 6, 6, 5]) {
      sim().admin.advanceClock(hours * HOUR);
      expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 });
    }
    // 23 h after the user's message, four sends later: still closes at 24 h.
    sim().admin.advanceClock(HOUR);
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2 });
  });

  test('a new user message reopens it for 24 h from then; any token of that user counts', async () => {
    const { bot, contextToken: first } = conversation(sim());
    sim().admin.advanceClock(25 * HOUR);
    expect(await send(sim(), bot, first)).toEqual({ ret: -2 });
    const { contextToken: second } = sim().admin.injectMessage({ botId: bot.botId, from: USER, text: 'back' });
    expect(await send(sim(), bot, first)).toMatchObject({ ret: 0 });
    sim().admin.advanceClock(24 * HOUR - 1);
    expect(await send(sim(), bot, second)).toMatchObject({ ret: 0 });
    sim().admin.advanceClock(1);
    expect(await send(sim(), bot, second)).toEqual({ ret: -2 });
  });

  test('per user: another user writing does not open this user’s window; tokens stay bound to their user', async () => {
    const { bot, contextToken } = conversation(sim());
    sim().admin.advanceClock(24 * HOUR);
    const { contextToken: bobs } = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'hey' });
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2 });
    expect(await send(sim(), bot, bobs)).toEqual({ ret: -2, errmsg: 'context token invalid' });
    expect(await send(sim(), bot, bobs, 'to bob', 'bob@im.wechat')).toMatchObject({ ret: 0 });
  });

  test('an injected bot-type message (an echo) does not open the window', async () => {
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: USER, text: 'echo', messageType: 2 });
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2 });
    expect(sim().admin.replyWindow(bot.botId, USER)).toEqual({ open: false, closesAt: null, sendsLeft: 0, lastInboundAt: null });
  });

  test('sendtyping and getconfig are not subject to it', async () => {
    const { bot } = conversation(sim());
    sim().admin.advanceClock(48 * HOUR);
    const config = await callApi(sim(), 'getConfig', { ilink_user_id: USER }, { token: bot.token });
    expect(config.json?.ret).toBe(0);
    const typing = await callApi(sim(), 'sendTyping', { ilink_user_id: USER, typing_ticket: config.json?.typing_ticket, status: 1 }, { token: bot.token });
    expect(typing.json).toEqual({ ret: 0 });
  });
});

describe('reply window length and errmsg are settable', () => {
  const sim = useSimulator({ replyWindowMs: 15 * HOUR, replyWindowErrmsg: 'prepare failed' });

  test('replyWindowMs 15 h; replyWindowErrmsg on the window and budget refusals', async () => {
    const { bot, contextToken } = conversation(sim());
    sim().admin.advanceClock(15 * HOUR);
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2, errmsg: 'prepare failed' });
    expect(sim().options).toMatchObject({ replyWindowMs: 15 * HOUR, sendsPerInbound: 10, rateLimit: null, replyWindowErrmsg: 'prepare failed' });
  });
});

describe('budget (§10)', () => {
  const sim = useSimulator();

  test('the 11th send with one user message\'s context token is refused; the next message\'s token has 10 of its own, never more', async () => {
    const { bot, contextToken } = conversation(sim());
    for (let i = 1; i <= 10; i++) expect(await send(sim(), bot, contextToken, `part ${i}`)).toMatchObject({ ret: 0 });
    expect(await send(sim(), bot, contextToken, 'part 11')).toEqual({ ret: -2 });
    expect(sim().admin.replyWindow(bot.botId, USER)).toMatchObject({ open: true, sendsLeft: 0 });

    // A new message brings a new token with 10; the spent token stays spent.
    const more = sim().admin.injectMessage({ botId: bot.botId, from: USER, text: 'more' });
    expect(sim().admin.replyWindow(bot.botId, USER).sendsLeft).toBe(10);
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2 });
    for (let i = 1; i <= 10; i++) expect(await send(sim(), bot, more.contextToken)).toMatchObject({ ret: 0 });
    expect(await send(sim(), bot, more.contextToken)).toEqual({ ret: -2 });
    expect(sim().admin.sentMessages()).toHaveLength(20);
  });

  test('replies to several waiting messages, each with its own token, each have their own budget (a backlog can be answered)', async () => {
    const { bot } = conversation(sim());
    const waiting = Array.from({ length: 15 }, (_, i) => sim().admin.injectMessage({ botId: bot.botId, from: USER, text: `backlog ${i}` }));
    for (const message of waiting) expect(await send(sim(), bot, message.contextToken)).toMatchObject({ ret: 0 });
    expect(sim().admin.sentMessages()).toHaveLength(15);
    expect(sim().admin.replyWindow(bot.botId, USER).sendsLeft).toBe(9);
  });

  test('refused sends do not use it up', async () => {
    const { bot, contextToken } = conversation(sim());
    // Refused for the token, the shape, a fault and the rate-limited fault: none counts.
    expect(await send(sim(), bot, 'unknown-token')).toEqual({ ret: -2, errmsg: 'context token invalid' });
    const bad = textMessage(USER, contextToken);
    (bad.msg as Record<string, unknown>).message_type = 1;
    expect((await callApi(sim(), 'sendMessage', bad, { token: bot.token })).json?.ret).toBe(-2);
    sim().admin.injectFault({ endpoint: 'sendMessage', kind: 'ret-2' });
    sim().admin.injectFault({ endpoint: 'sendMessage', kind: 'rate-limited', count: 2 });
    for (let i = 0; i < 3; i++) expect((await send(sim(), bot, contextToken))?.ret).toBe(-2);
    expect(sim().admin.replyWindow(bot.botId, USER).sendsLeft).toBe(10);
    for (let i = 1; i <= 10; i++) expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 });
    // Refusals once it is spent do not push the next message's budget below 10 either.
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2 });
    sim().admin.injectMessage({ botId: bot.botId, from: USER, text: 'again' });
    expect(sim().admin.replyWindow(bot.botId, USER).sendsLeft).toBe(10);
  });

  test('counted per user', async () => {
    const { bot, contextToken } = conversation(sim());
    const { contextToken: bobs } = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'hey' });
    for (let i = 0; i < 10; i++) expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 });
    expect(await send(sim(), bot, bobs, 'to bob', 'bob@im.wechat')).toMatchObject({ ret: 0 });
    expect(sim().admin.replyWindow(bot.botId, 'bob@im.wechat').sendsLeft).toBe(9);
  });
});

describe('sendsPerInbound is settable', () => {
  const sim = useSimulator({ sendsPerInbound: 2 });

  test('sendsPerInbound: 2', async () => {
    const { bot, contextToken } = conversation(sim());
    expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 });
    expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 });
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2 });
  });
});

describe('rate limit (§10)', () => {
  const sim = useSimulator({ rateLimit: { sends: 3, perMs: MINUTE } });

  test('rule: per bot, sliding window over successful sends → {"ret":-2,"errmsg":"rate limited"}', async () => {
    const { bot, contextToken } = conversation(sim());
    const { contextToken: bobs } = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'hey' });
    expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 }); // t = 0
    sim().admin.advanceClock(20_000);
    expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 }); // t = 20 s
    sim().admin.advanceClock(20_000);
    expect(await send(sim(), bot, bobs, 'to bob', 'bob@im.wechat')).toMatchObject({ ret: 0 }); // t = 40 s, another user
    const limited = await callApi(sim(), 'sendMessage', textMessage(USER, contextToken), { token: bot.token });
    expect(limited.status).toBe(200);
    expect(limited.json).toEqual({ ret: -2, errmsg: 'rate limited' });
    expect(limited.json).not.toHaveProperty('errcode');
    // Another bot has its own limit.
    const other = conversation(sim(), 'carol@im.wechat');
    expect(await send(sim(), other.bot, other.contextToken, 'x', 'carol@im.wechat')).toMatchObject({ ret: 0 });
    // At t = 60 s the first send leaves the window: one more goes out, then limited again.
    sim().admin.advanceClock(20_000);
    expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 });
    expect(await send(sim(), bot, contextToken)).toEqual({ ret: -2, errmsg: 'rate limited' });
    // Rate-limited sends used none of the budget: 3 sent to alice so far.
    expect(sim().admin.replyWindow(bot.botId, USER).sendsLeft).toBe(7);
  });
});

describe('rate-limited fault', () => {
  const sim = useSimulator();

  test('count sends get {"ret":-2,"errmsg":"rate limited"}, then normal; injectable over HTTP; sendMessage only', async () => {
    const { bot, contextToken } = conversation(sim());
    const posted = await http(`${sim().url}/_admin/faults`, { json: { endpoint: 'sendMessage', kind: 'rate-limited', count: 2 } });
    expect(posted.json).toEqual({ ok: true });
    expect(sim().admin.pendingFaults()).toEqual([{ endpoint: 'sendMessage', kind: 'rate-limited', count: 2 }]);
    for (let i = 0; i < 2; i++) {
      const result = await callApi(sim(), 'sendMessage', textMessage(USER, contextToken), { token: bot.token });
      expect(result.status).toBe(200);
      expect(result.text).toBe('{"ret":-2,"errmsg":"rate limited"}');
    }
    expect(await send(sim(), bot, contextToken)).toMatchObject({ ret: 0 });
    expect(() => sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'rate-limited' })).toThrow(/sendMessage only/);
    expect((await http(`${sim().url}/_admin/faults`, { json: { endpoint: 'sendTyping', kind: 'rate-limited' } })).status).toBe(400);
  });
});

describe('simulator clock and the reply-window view', () => {
  let base = 1_800_000_000_000;
  const sim = useSimulator({ clock: { now: () => base } });

  test('the injected clock is the base; advanceClock adds an offset; reset sets it back', async () => {
    expect(sim().admin.clockNow()).toBe(base);
    expect(sim().admin.advanceClock(5000)).toBe(base + 5000);
    base += 1000;
    expect(sim().admin.clockNow()).toBe(base + 5000);
    expect(sim().admin.clockOffsetMs()).toBe(5000);
    expect(() => sim().admin.advanceClock(-1)).toThrow();
    sim().admin.reset();
    expect(sim().admin.clockNow()).toBe(base);
  });

  test('replyWindow: {open, closesAt, sendsLeft, lastInboundAt} on the simulator clock', async () => {
    const bot = sim().admin.createBot();
    expect(sim().admin.replyWindow(bot.botId, USER)).toEqual({ open: false, closesAt: null, sendsLeft: 0, lastInboundAt: null });
    const wroteAt = sim().admin.clockNow();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    await send(sim(), bot, contextToken);
    await send(sim(), bot, contextToken);
    expect(sim().admin.replyWindow(bot.botId, USER)).toEqual({ open: true, closesAt: wroteAt + 24 * HOUR, sendsLeft: 8, lastInboundAt: wroteAt });
    sim().admin.advanceClock(24 * HOUR);
    expect(sim().admin.replyWindow(bot.botId, USER)).toEqual({ open: false, closesAt: wroteAt + 24 * HOUR, sendsLeft: 8, lastInboundAt: wroteAt });
    expect(() => sim().admin.replyWindow('nobody@im.bot', USER)).toThrow(/unknown bot/);
  });

  test('expireContextToken closes the window now: closesAt is that moment', async () => {
    const bot = sim().admin.createBot();
    const wroteAt = sim().admin.clockNow();
    sim().admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    sim().admin.advanceClock(HOUR);
    sim().admin.expireContextToken(bot.botId, USER);
    expect(sim().admin.replyWindow(bot.botId, USER)).toEqual({ open: false, closesAt: wroteAt + HOUR, sendsLeft: 10, lastInboundAt: wroteAt });
  });

  test('over HTTP: GET/POST /_admin/clock, GET /_admin/reply-window, /_admin/info', async () => {
    const admin = (path: string) => `${sim().url}/_admin${path}`;
    expect((await http(admin('/clock'))).json).toEqual({ now: base, offsetMs: 0 });
    expect((await http(admin('/clock'), { json: { advanceMs: 90_000 } })).json).toEqual({ now: base + 90_000, offsetMs: 90_000 });
    expect((await http(admin('/clock'), { json: { advanceMs: -5 } })).status).toBe(400);
    expect((await http(admin('/clock'), { json: {} })).status).toBe(400);

    const bot = sim().admin.createBot();
    const query = `?botId=${encodeURIComponent(bot.botId)}&userId=${encodeURIComponent(USER)}`;
    expect((await http(admin(`/reply-window${query}`))).json).toEqual({ open: false, closesAt: null, sendsLeft: 0, lastInboundAt: null });
    await http(admin('/messages'), { json: { botId: bot.botId, from: USER, text: 'hi' } });
    const now = base + 90_000;
    expect((await http(admin(`/reply-window${query}`))).json).toEqual({ open: true, closesAt: now + 24 * HOUR, sendsLeft: 10, lastInboundAt: now });
    expect((await http(admin('/reply-window?botId=x'))).status).toBe(400);

    expect((await http(admin('/info'))).json).toMatchObject({ replyWindowMs: 24 * HOUR, sendsPerInbound: 10, rateLimit: null });
  });
});

describe('options are checked', () => {
  test.each([
    ['replyWindowMs 0', { replyWindowMs: 0 }],
    ['replyWindowMs Infinity', { replyWindowMs: Number.POSITIVE_INFINITY }],
    ['sendsPerInbound 0', { sendsPerInbound: 0 }],
    ['sendsPerInbound 2.5', { sendsPerInbound: 2.5 }],
    ['rateLimit.sends 0', { rateLimit: { sends: 0, perMs: 1000 } }],
    ['rateLimit.perMs -1', { rateLimit: { sends: 1, perMs: -1 } }],
  ])('%s is refused', async (_name, options) => {
    const { startSimulator } = await import('../../simulator');
    await expect(startSimulator(options)).rejects.toThrow();
  });
});
