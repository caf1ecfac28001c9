/**
 * Receiving on the real server's terms (§10), through the core against the
 * simulator over real HTTP. The simulator runs with its default: no replay.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ILinkClient } from '../../shared/client';
import type { Message } from '../../shared/model';
import { PollerConflictError } from '../../shared/poll-registry';
import { startSimulator, type Simulator } from '../../simulator';
import { until } from '../helpers/until';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300 });
});
afterEach(() => sim.stop());

const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';

function clientFor(bot: { token: string; botId?: string }, extra: { state?: string; botId?: string | null } = {}) {
  return new ILinkClient({
    token: bot.token,
    botId: extra.botId === null ? undefined : (extra.botId ?? bot.botId),
    baseUrl: sim.apiBaseUrl,
    cdnBaseUrl: sim.cdnBaseUrl,
    state: extra.state,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
}

test('a message the server delivers twice (~1 s apart, §10) is handled once', async () => {
  const bot = sim.admin.createBot();
  sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'duplicate', delayMs: 100 });
  const client = clientFor(bot);
  const handled: string[] = [];
  const controller = new AbortController();
  const listening = client.listen((m) => void handled.push(m.messageId), { signal: controller.signal });
  const { messageId } = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'once' });
  await until(() => handled.length === 1);
  // The duplicate answer comes 100 ms later; wait until the simulator has handed it out too.
  await until(() => sim.admin.requests({ endpoint: 'getUpdates' }).length >= 4, 3000);
  await new Promise((r) => setTimeout(r, 400));
  controller.abort();
  await listening;
  expect(handled).toEqual([messageId]);
});

test("two users, one handler hangs: the other user is answered, and abort ends listen() within a second; the hung message stays in the inbox", async () => {
  const bot = sim.admin.createBot();
  const dir = mkdtempSync(join(tmpdir(), 'ilink-recv-'));
  const client = clientFor(bot, { state: join(dir, 'bot.json') });
  const controller = new AbortController();
  const listening = client.listen(
    async (m, _wire, { signal }) => {
      if (m.from === ALICE) await new Promise(() => {}); // hangs, and ignores its signal
      await client.reply(m, `hi ${m.text}`, { signal });
    },
    { signal: controller.signal },
  );
  const hung = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'stuck' });
  await new Promise((r) => setTimeout(r, 50));
  sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'b1' });
  sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'b2' });
  await sim.admin.waitForSent((s) => s.to === BOB && s.msg.item_list?.[0]?.text_item?.text === 'hi b2', 3000);
  expect(sim.admin.sentMessages({ to: BOB }).map((s) => s.msg.item_list?.[0]?.text_item?.text)).toEqual(['hi b1', 'hi b2']);
  await until(() => client.state.inboxSize === 1); // b2's handler has returned

  const abortedAt = Date.now();
  controller.abort();
  await listening;
  expect(Date.now() - abortedAt).toBeLessThan(1000);
  expect(client.state.inboxEntries().map((e) => e.key)).toEqual([hung.messageId]);

  // The next start hands it over first.
  const next = clientFor(bot, { state: join(dir, 'bot.json') });
  const again: Message[] = [];
  const stop = new AbortController();
  const second = next.listen((m) => void again.push(m), { signal: stop.signal });
  await until(() => again.length === 1);
  stop.abort();
  await second;
  expect(again[0]!.messageId).toBe(hung.messageId);
  expect(again[0]!.text).toBe('stuck');
});

test("one user's messages are handled in order, one at a time, while other users run side by side", async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const perUserRunning = new Map<string, number>();
  const controller = new AbortController();
  const listening = client.listen(
    async (m) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      perUserRunning.set(m.from, (perUserRunning.get(m.from) ?? 0) + 1);
      expect(perUserRunning.get(m.from)).toBe(1);
      await new Promise((r) => setTimeout(r, 30));
      log.push(`${m.from}:${m.text}`);
      perUserRunning.set(m.from, (perUserRunning.get(m.from) ?? 0) - 1);
      running--;
    },
    { signal: controller.signal },
  );
  const users = ['u1@im.wechat', 'u2@im.wechat', 'u3@im.wechat', 'u4@im.wechat'];
  for (let i = 0; i < 5; i++) for (const user of users) sim.admin.injectMessage({ botId: bot.botId, from: user, text: String(i) });
  const started = Date.now();
  await until(() => log.length === 20);
  const elapsed = Date.now() - started;
  controller.abort();
  await listening;
  for (const user of users) expect(log.filter((l) => l.startsWith(user)).map((l) => l.split(':')[1])).toEqual(['0', '1', '2', '3', '4']);
  expect(maxRunning).toBe(users.length);
  // 20 handlers of 30 ms one after another would take ≥ 600 ms; side by side, five rounds.
  expect(elapsed).toBeLessThan(600);
});

test('bot echoes (message_type 2) are skipped by default and handed over with includeBotMessages', async () => {
  const bot = sim.admin.createBot();
  sim.admin.injectMessage({ botId: bot.botId, from: bot.botId, text: 'echo of my own send', messageType: 2 });
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'real' });
  const client = clientFor(bot);
  const seen: string[] = [];
  const controller = new AbortController();
  const listening = client.listen((m) => void seen.push(m.text), { signal: controller.signal });
  await until(() => seen.length === 1);
  await until(() => client.state.inboxSize === 0);
  controller.abort();
  await listening;
  expect(seen).toEqual(['real']);

  const other = sim.admin.createBot();
  sim.admin.injectMessage({ botId: other.botId, from: other.botId, text: 'echo', messageType: 2 });
  const all: string[] = [];
  const stop = new AbortController();
  const second = clientFor(other).listen((m) => void all.push(m.text), { signal: stop.signal, includeBotMessages: true });
  await until(() => all.length === 1);
  stop.abort();
  await second;
  expect(all).toEqual(['echo']);
});

test('an ID-only quote of an earlier inbound message, and of a message the bot sent, comes out with the quoted text', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  const received: Message[] = [];
  const controller = new AbortController();
  const listening = client.listen(
    async (m) => {
      received.push(m);
      if (m.text === 'first') await client.reply(m, 'bot says hello');
    },
    { signal: controller.signal },
  );
  const first = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'first' });
  const reply = await sim.admin.waitForSent((s) => s.to === ALICE, 3000);
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'quoting myself', quote: { messageId: first.messageId } });
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'quoting the bot', quote: { messageId: reply.messageId } });
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'quoting the unknown', refMsg: { svr_id: '18446744073709551615', message_item: { type: 0 } } });
  await until(() => received.length === 4);
  controller.abort();
  await listening;
  const [, self, ofBot, unknown] = received;
  // The wire carried the ID only (the simulator's default, like current WeChat clients).
  expect(self!.quote).toMatchObject({ messageId: first.messageId, text: 'first', from: ALICE, restored: true });
  expect(ofBot!.quote).toMatchObject({ messageId: reply.messageId, text: 'bot says hello', from: '', restored: true });
  expect(unknown!.quote).toMatchObject({ messageId: '18446744073709551615', restored: false });
  expect(unknown!.quote?.text).toBeUndefined();
});

test('the quote cache survives a restart (file state)', async () => {
  const bot = sim.admin.createBot();
  const path = join(mkdtempSync(join(tmpdir(), 'ilink-quote-')), 'bot.json');
  const first = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'remember me' });
  const one = clientFor(bot, { state: path });
  const stop1 = new AbortController();
  const got1: Message[] = [];
  const run1 = one.listen((m) => void got1.push(m), { signal: stop1.signal });
  await until(() => got1.length === 1 && one.state.inboxSize === 0);
  stop1.abort();
  await run1;

  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'see above', quote: { messageId: first.messageId } });
  const two = clientFor(bot, { state: path });
  const stop2 = new AbortController();
  const got2: Message[] = [];
  const run2 = two.listen((m) => void got2.push(m), { signal: stop2.signal });
  await until(() => got2.length === 1);
  stop2.abort();
  await run2;
  expect(got2[0]!.quote).toMatchObject({ text: 'remember me', restored: true });
});

test('a second client built from the same token without the bot ID is refused while the first listens', async () => {
  const bot = sim.admin.createBot();
  const controller = new AbortController();
  const listening = clientFor(bot).listen(() => undefined, { signal: controller.signal, owner: 'the first listener' });
  await until(() => sim.admin.requests({ endpoint: 'getUpdates' }).length >= 1);
  await expect(clientFor(bot, { botId: null }).listen(() => undefined)).rejects.toThrow(/the first listener/);
  await expect(clientFor(bot, { botId: null }).listen(() => undefined)).rejects.toBeInstanceOf(PollerConflictError);
  controller.abort();
  await listening;
});

test('a second process on the same bot is refused with the holder named; once that process is killed, its stale lock is taken over', async () => {
  const fixture = join(__dirname, '../faults/fixtures/crash-bot.js');
  if (!existsSync(join(__dirname, '../../dist/shared/index.js'))) throw new Error('run `npm run build` first: the child uses dist/');
  const bot = sim.admin.createBot();
  const dir = mkdtempSync(join(tmpdir(), 'ilink-lock-'));
  const child = spawn(process.execPath, [fixture, sim.apiBaseUrl, bot.token, bot.botId, join(dir, 'child.json'), join(dir, 'log'), join(dir, 'stats')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child not ready')), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const error = await clientFor(bot).listen(() => undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PollerConflictError);
    expect((error as Error).message).toContain(`process ${child.pid}`);
    expect((error as Error).message).not.toContain(bot.token);
  } finally {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
  // The dead process's lock is stale: this process takes it over.
  const polls = () => sim.admin.requests({ endpoint: 'getUpdates', botId: bot.botId }).length;
  const pollsAtKill = polls();
  const received: Message[] = [];
  const controller = new AbortController();
  const listening = clientFor(bot).listen((m) => void received.push(m), { signal: controller.signal });
  // Not before this process's second poll: the killed child's long poll may still be held by the
  // simulator until it notices the dead connection, and a message handed to it would be lost in
  // transit, as on the real server. Two polls of ours outlast that poll's hold.
  await until(() => polls() >= pollsAtKill + 2);
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'after the takeover' });
  await until(() => received.length === 1);
  controller.abort();
  await listening;
  // The child never handled it.
  expect(existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '').toBe('');
});

test('a handler error with no onError and no logger goes to stderr with the message ID', async () => {
  const bot = sim.admin.createBot();
  const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl });
  const lines: string[] = [];
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const controller = new AbortController();
    let calls = 0;
    const listening = client.listen(
      () => {
        calls++;
        throw new Error('my flow broke');
      },
      { signal: controller.signal },
    );
    const { messageId } = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'boom' });
    await until(() => calls === 1 && lines.some((l) => l.includes('my flow broke')));
    controller.abort();
    await listening;
    const line = lines.find((l) => l.includes('my flow broke'))!;
    expect(line).toContain(messageId);
    expect(line).not.toContain(bot.token);
  } finally {
    write.mockRestore();
  }
});
