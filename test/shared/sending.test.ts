/**
 * Sending on the real server's terms (§10), through the core against the
 * simulator over real HTTP: the 24 h window and the 10-message budget are
 * checked before any request, "rate limited" is waited out on the clock,
 * sends to one user never interleave, and the outbox waits for the user.
 */
import { ManualClock } from '../../shared/clock';
import { ContextTokenError, NoContextTokenError, RateLimitedError, ValidationError } from '../../shared/errors';
import { ILinkClient } from '../../shared/client';
import type { Message } from '../../shared/model';
import { ReplyWindowError, type ReplyWindow } from '../../shared/reply-window';
import { startSimulator, type Simulator } from '../../simulator';
import { rejection } from '../helpers/rejection';
import { until } from '../helpers/until';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300 });
});
afterEach(() => sim.stop());

const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';
const HOUR = 3_600_000;

const sends = () => sim.admin.requests({ endpoint: 'sendMessage' }).length;
const textsTo = (user: string) => sim.admin.sentMessages({ to: user }).map((s) => s.msg.item_list?.[0]?.text_item?.text);

/** A bot, a client on `clock`, and a listener that records messages and runs `onMessage`. */
async function setup(options: { clock?: ManualClock; onMessage?: (client: ILinkClient, m: Message) => Promise<void> | void; windowClosing?: { leadMs: number } } = {}) {
  if (options.clock) {
    // The server's clock is the client's here: the simulator stamps messages and runs its rules on it.
    await sim.stop();
    const clock = options.clock;
    sim = await startSimulator({ longPollTimeoutMs: 300, clock: { now: () => clock.now() } });
  }
  const bot = sim.admin.createBot();
  const client = new ILinkClient({
    token: bot.token,
    botId: bot.botId,
    baseUrl: sim.apiBaseUrl,
    clock: options.clock,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    rateLimitRetry: { delaysMs: [2_000, 5_000, 15_000], maxTotalMs: 60_000 },
  });
  const received: Message[] = [];
  const closing: ReplyWindow[] = [];
  const controller = new AbortController();
  const listening = client.listen(
    async (m) => {
      received.push(m);
      await options.onMessage?.(client, m);
    },
    { signal: controller.signal, windowClosing: options.windowClosing && { leadMs: options.windowClosing.leadMs, onClosing: (w) => closing.push(w) } },
  );
  const write = async (from: string, text: string) => {
    const before = received.length;
    sim.admin.injectMessage({ botId: bot.botId, from, text });
    await until(() => received.length > before && client.state.inboxSize === 0);
  };
  const stop = async () => {
    controller.abort();
    await listening;
  };
  return { bot, client, received, closing, write, stop };
}

test('the 11th message after one user message fails before any request, naming the rule and the fix; a new message gives 10 again, not 20', async () => {
  const { client, write, stop } = await setup();
  await write(ALICE, 'hi');
  expect(client.replyWindow(ALICE)).toMatchObject({ open: true, known: true, sendsLeft: 10 });
  for (let i = 1; i <= 10; i++) await client.send(ALICE, `n${i}`);
  expect(client.replyWindow(ALICE)).toMatchObject({ open: false, sendsLeft: 0, closedBy: 'budget' });
  const before = sends();
  const error = await rejection(client.send(ALICE, 'n11'));
  expect(error).toBeInstanceOf(ReplyWindowError);
  expect((error as ReplyWindowError).rule).toBe('budget');
  expect(error.message).toBe(
    `all 10 messages iLink allows per user message to ${ALICE} are used up: ask them to write to the bot again, or wait for their next message ` +
      '(nothing was sent; to send it when they write, queue it instead)',
  );
  expect(sends()).toBe(before);

  await write(ALICE, 'again');
  expect(client.replyWindow(ALICE).sendsLeft).toBe(10);
  for (let i = 1; i <= 8; i++) await client.send(ALICE, `m${i}`);
  // A text of three parts with two left: refused whole, before any request; nothing partial goes out.
  const long = `${'a'.repeat(3990)}\n\n${'b'.repeat(3990)}\n\n${'c'.repeat(100)}`;
  const atEight = sends();
  const partial = await rejection(client.send(ALICE, long));
  expect(partial.message).toMatch(/^this needs 3 messages; 2 are left of the 10 iLink allows per user message to alice@im\.wechat: send less/);
  expect(sends()).toBe(atEight);
  await stop();
});

test('each user message\'s context token has its own 10: a backlog of 15 waiting messages is answered in full, one reply each', async () => {
  const bot = sim.admin.createBot();
  for (let i = 1; i <= 15; i++) sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: `backlog ${i}` });
  const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  const errors: Error[] = [];
  const controller = new AbortController();
  const listening = client.listen((m) => client.reply(m, `re ${m.text}`).then(() => undefined), { signal: controller.signal, onError: (e) => errors.push(e) });
  await until(() => textsTo(ALICE).length === 15);
  await until(() => client.state.inboxSize === 0);
  controller.abort();
  await listening;
  expect(errors).toEqual([]);
  expect(textsTo(ALICE)).toEqual(Array.from({ length: 15 }, (_, i) => `re backlog ${i + 1}`));
  // A proactive send uses the latest message's token: one of its 10 is spent.
  expect(client.replyWindow(ALICE).sendsLeft).toBe(9);
});

test("the window closes 24 h after the user's last message on the client's clock; the bot's sends do not extend it; a new message reopens it", async () => {
  const clock = new ManualClock(Date.now());
  const { client, write, stop } = await setup({ clock });
  await write(ALICE, 'hello');
  const wroteAt = client.replyWindow(ALICE).lastInboundAt!;
  expect(client.replyWindow(ALICE).closesAt).toBe(wroteAt + 24 * HOUR);
  clock.advance(23 * HOUR + 59 * 60_000);
  await client.send(ALICE, 'just in time');
  expect(client.replyWindow(ALICE).closesAt).toBe(wroteAt + 24 * HOUR); // the send did not extend it
  clock.advance(60_000);
  const before = sends();
  const error = await rejection(client.send(ALICE, 'too late'));
  expect(error).toBeInstanceOf(ReplyWindowError);
  expect(error.message).toBe(
    `${ALICE} last wrote 24 h ago; iLink only delivers within 24 h of the user's last message: ask them to write to the bot ` +
      '(nothing was sent; to send it when they write, queue it instead)',
  );
  expect(sends()).toBe(before);
  await write(ALICE, 'back');
  await client.send(ALICE, 'welcome back');
  expect(textsTo(ALICE)).toEqual(['just in time', 'welcome back']);
  await stop();
});

test("the server's -2 on a send closes the window here too: the next send fails before any request, until the user writes", async () => {
  const { bot, client, write, stop } = await setup();
  await write(ALICE, 'hi');
  sim.admin.expireContextToken(bot.botId, ALICE);
  const refused = await rejection(client.send(ALICE, 'refused by the server'));
  expect(refused).toBeInstanceOf(ContextTokenError);
  expect(refused.message).toMatch(/reply window has closed/);
  expect(client.replyWindow(ALICE)).toMatchObject({ open: false, closedBy: 'server' });
  const before = sends();
  const local = await rejection(client.send(ALICE, 'not even tried'));
  expect(local).toBeInstanceOf(ReplyWindowError);
  expect(local.message).toMatch(/^iLink refused an earlier message to alice@im\.wechat \(code -2\)/);
  expect(sends()).toBe(before);
  await write(ALICE, 'hi again');
  await client.send(ALICE, 'works again');
  await stop();
});

test('"rate limited" is waited out with growing delays on the clock (same client_id), then gives up with a clear error', async () => {
  const clock = new ManualClock(Date.now());
  const { client, write, stop } = await setup({ clock });
  await write(ALICE, 'hi');
  sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'rate-limited', count: 2 });
  const before = sends();
  const sending = client.send(ALICE, 'patience');
  expect(await clock.waitForSleep(1)).toEqual([2_000]);
  clock.advance(2_000);
  expect(await clock.waitForSleep(1)).toEqual([5_000]);
  clock.advance(5_000);
  const [result] = await sending;
  expect(result!.messageId).toMatch(/^\d+$/);
  const attempts = sim.admin.requests({ endpoint: 'sendMessage' }).slice(before);
  expect(attempts).toHaveLength(3);
  expect(new Set(attempts.map((r) => JSON.parse(r.rawBody!).msg.client_id)).size).toBe(1);
  expect(textsTo(ALICE)).toEqual(['patience']);

  // Past the settings (2 s, 5 s, 15 s within 60 s): a clear error, and the window is not blamed.
  sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'rate-limited', count: 10 });
  const giving = rejection(client.send(ALICE, 'never'));
  for (const delay of [2_000, 5_000, 15_000]) {
    expect(await clock.waitForSleep(1)).toEqual([delay]);
    clock.advance(delay);
  }
  const error = await giving;
  expect(error).toBeInstanceOf(RateLimitedError);
  expect(error.message).toBe(
    'iLink is rate limiting this bot (code -2 on sendmessage: rate limited); gave up after 4 attempt(s) over 22 s: wait a few minutes before sending again, and send fewer messages in a row',
  );
  expect(client.replyWindow(ALICE).open).toBe(true);
  await stop();
});

test('a send cancelled while it waits behind another send to the same user neither goes out nor lands in the outbox', async () => {
  const clock = new ManualClock(Date.now());
  const { client, write, stop } = await setup({ clock });
  await write(ALICE, 'hi');
  for (let i = 1; i <= 9; i++) await client.send(ALICE, `n${i}`);
  // The 10th waits out a rate limit; the 11th (the budget then spent) would be queued behind it.
  sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'rate-limited', count: 1 });
  const tenth = client.send(ALICE, 'n10');
  expect(await clock.waitForSleep(1)).toEqual([2_000]);
  const controller = new AbortController();
  const eleventh = rejection(client.send(ALICE, 'n11', { whenClosed: 'queue', signal: controller.signal }));
  controller.abort();
  clock.advance(2_000);
  await tenth;
  expect((await eleventh).name).toBe('AbortError');
  expect(client.state.outbox(ALICE)).toEqual([]);
  expect(textsTo(ALICE)).toEqual([...Array.from({ length: 9 }, (_, i) => `n${i + 1}`), 'n10']);
  await stop();
});

test('the parts of two sends to one user never interleave; another user is not held up', async () => {
  const { client, write, stop } = await setup();
  await write(ALICE, 'a');
  await write(BOB, 'b');
  const long = (tag: string) => Array.from({ length: 3 }, (_, i) => `${tag}${i + 1} ${'x'.repeat(3990)}`).join('\n\n');
  // A slow CDN-free way to make the first send slow: delay its first request.
  sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'delay', delayMs: 300 });
  const first = client.send(ALICE, long('A'));
  const second = client.send(ALICE, long('B'));
  const other = client.send(BOB, 'quick');
  await other;
  // Bob's message went out while Alice's first part was still held.
  expect(textsTo(ALICE)).toEqual([]);
  await Promise.all([first, second]);
  expect(textsTo(ALICE).map((t) => t!.slice(0, 2))).toEqual(['A1', 'A2', 'A3', 'B1', 'B2', 'B3']);
  await stop();
});

test('whenClosed "queue": a send to a closed window waits in the outbox, and goes out in order when the user writes, before the reply; what does not fit waits for the next message', async () => {
  const clock = new ManualClock(Date.now());
  const { client, write, stop } = await setup({
    clock,
    onMessage: async (c, m) => {
      await c.reply(m, `reply to ${m.text}`);
    },
  });
  await write(ALICE, 'hi');
  clock.advance(25 * HOUR);
  const before = sends();
  const queued = await client.send(ALICE, 'first news', { whenClosed: 'queue' });
  expect(queued).toEqual([{ messageId: '', clientId: '', itemType: 1, queuedAs: expect.any(String) }]);
  for (let i = 2; i <= 10; i++) await client.send(ALICE, `news ${i}`, { whenClosed: 'queue' });
  expect(sends()).toBe(before);
  expect(client.outbox(ALICE).map((e) => e.items[0]!.text_item?.text)).toEqual(['first news', ...Array.from({ length: 9 }, (_, i) => `news ${i + 2}`)]);
  // A user who never wrote: queued too, rather than failing.
  await client.send(BOB, 'for bob', { whenClosed: 'queue' });

  await write(ALICE, 'back');
  // The ten queued took the new budget; the reply to "back" was refused (it is the handler's error).
  await until(() => textsTo(ALICE).length >= 11);
  expect(textsTo(ALICE)).toEqual(['reply to hi', 'first news', ...Array.from({ length: 9 }, (_, i) => `news ${i + 2}`)]);
  expect(client.outbox(ALICE)).toEqual([]);

  await client.send(ALICE, 'eleven', { whenClosed: 'queue' });
  await write(ALICE, 'and again');
  await until(() => textsTo(ALICE).includes('reply to and again'));
  expect(textsTo(ALICE).slice(-2)).toEqual(['eleven', 'reply to and again']);
  expect(client.clearOutbox(BOB)).toBe(1);
  expect(client.outbox()).toEqual([]);
  await stop();
});

test('the outbox survives a restart (file state)', async () => {
  const bot = sim.admin.createBot();
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'ilink-outbox-'));
  const path = require('node:path').join(dir, 'bot.json');
  const make = () => new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, state: path, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  await make().send(ALICE, 'waiting for alice', { whenClosed: 'queue' });
  const client = make();
  expect(client.outbox(ALICE)).toHaveLength(1);
  const controller = new AbortController();
  const listening = client.listen(() => undefined, { signal: controller.signal });
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'here' });
  await until(() => textsTo(ALICE).length === 1);
  controller.abort();
  await listening;
  expect(textsTo(ALICE)).toEqual(['waiting for alice']);
  expect(make().outbox()).toEqual([]);
});

test('a window-closing event fires the lead time before the window closes, once, and moves when the user writes again', async () => {
  const clock = new ManualClock(Date.now());
  const { client, closing, write, stop } = await setup({ clock, windowClosing: { leadMs: HOUR } });
  await write(ALICE, 'hi');
  const closesAt = client.replyWindow(ALICE).closesAt!;
  clock.advance(22 * HOUR);
  await new Promise((r) => setImmediate(r));
  expect(closing).toEqual([]);
  clock.advance(HOUR + 1);
  await until(() => closing.length === 1);
  expect(closing[0]).toMatchObject({ userId: ALICE, open: true, closesAt });
  clock.advance(10 * 60_000);
  await new Promise((r) => setImmediate(r));
  expect(closing).toHaveLength(1);
  await write(ALICE, 'still here');
  clock.advance(23 * HOUR + 1);
  await until(() => closing.length === 2);
  expect(closing[1]!.closesAt).toBeGreaterThan(closesAt);
  await stop();
});

test.each([
  ['undefined', undefined, 'nothing to send: give a text or at least one item'],
  ['a number', 42, 'cannot send a number (42): give text, or an item from an upload or a received message'],
  ['a Buffer', Buffer.from('x'), 'cannot send a Buffer (send files with sendMedia, or the media operation of your node): give text, or an item from an upload or a received message'],
  ['an empty text', '   ', 'the text to send is empty: it has no characters other than whitespace; provide some text'],
  ['a voice item', { type: 3, voice_item: {} }, 'a bot cannot send a voice bubble (the chat never shows it, §10): send the audio as a file (media type "file")'],
  ['a quote', { type: 1, text_item: { text: 'x' }, ref_msg: { svr_id: '1' } }, 'a bot cannot send a quote over iLink (no client does, and the server may drop it): put the quoted words in the text instead'],
])('%s is refused before any request with a clear error', async (_what, content, message) => {
  const { client, write, stop } = await setup();
  await write(ALICE, 'hi');
  const before = sends();
  const error = await rejection(client.send(ALICE, content as never));
  expect(error).toBeInstanceOf(ValidationError);
  expect(error.message).toBe(message);
  expect(sends()).toBe(before);
  await stop();
});

test('no recipient, or one who never wrote, fails before any request', async () => {
  const { client, stop } = await setup();
  expect((await rejection(client.send('', 'x'))).message).toMatch(/^no recipient/);
  expect(await rejection(client.send('nobody@im.wechat', 'x'))).toBeInstanceOf(NoContextTokenError);
  expect(sends()).toBe(0);
  await stop();
});
