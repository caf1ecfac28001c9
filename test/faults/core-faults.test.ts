/**
 * The core against every fault the protocol sheet talks about, over real HTTP
 * against the strict simulator:
 * - getupdates (§5): 5xx, connection reset, malformed JSON, ret -2, other ret,
 *   -14 (pause and stop), client timeout, slow bodies. Backoff 2 s / 2 s / 30 s
 *   is checked on a ManualClock (no real backoff sleeps), and every inbound
 *   message injected before, during and after a fault is delivered exactly
 *   once, in order, once the fault clears.
 * - sendmessage (§2, §6): each fault surfaces as its typed error after exactly
 *   one request (sends are never retried: a retry could duplicate a message).
 * - CDN (§7): upload retried up to 3 attempts on 5xx / missing
 *   x-encrypted-param, never on 4xx; downloads report status, truncation, the
 *   size cap and a wrong key with typed MediaErrors.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ILinkClient } from '../../shared/client';
import { ContextTokenError, HttpError, ApiError, SessionExpiredError } from '../../shared/errors';
import { encryptAesEcb, MediaError } from '../../shared/media';
import { toItem } from '../../shared/messages';
import type { Item } from '../../shared/model';
import { startSimulator, type Simulator } from '../../simulator';
import { ManualClock } from '../../shared/clock';
import { startScriptedServer } from '../helpers/scripted-server';
import { expectTyped, pause, pollHarness, rejection, tempDir, until, USER, type PollHarness } from './helpers';

let sim: Simulator;
let tmp: ReturnType<typeof tempDir>;
const running: PollHarness[] = [];

beforeEach(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300 });
  tmp = tempDir();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
  await sim.stop();
  tmp.remove();
});

function harness(...args: Parameters<typeof pollHarness> extends [unknown, ...infer R] ? R : never): PollHarness {
  const h = pollHarness(sim, ...args);
  running.push(h);
  return h;
}

const TIMINGS = { initialTimeoutMs: 300 };

/** Waits until the poller has made at least `n` more getupdates, so late duplicates would have shown up. */
async function morePolls(h: PollHarness, n = 2): Promise<void> {
  const target = h.polls() + n;
  await until(() => h.polls() >= target, 5000, `${n} more polls`);
}

// ---------------------------------------------------------------------------
// getupdates
// ---------------------------------------------------------------------------

describe('getupdates faults: typed error, 2 s backoff on the clock, no message lost (§5.4, §5.5)', () => {
  const cases: Array<{ name: string; fault: Parameters<Simulator['admin']['injectFault']>[0]; check: (e: Error) => void }> = [
    {
      name: 'HTTP 5xx',
      fault: { endpoint: 'getUpdates', kind: 'http5xx', status: 502 },
      check: (e) => {
        expect(e).toBeInstanceOf(HttpError);
        expect(e).toMatchObject({ kind: 'status', status: 502, endpoint: 'getupdates' });
        expect(e.message).toMatch(/HTTP 502.*check the network and the API base URL; it will be retried/);
      },
    },
    {
      name: 'connection reset (drop)',
      fault: { endpoint: 'getUpdates', kind: 'drop' },
      check: (e) => {
        expect(e).toBeInstanceOf(HttpError);
        expect(e).toMatchObject({ kind: 'network' });
        expect(e.message).toMatch(/request failed: .*; check the network/);
      },
    },
    {
      name: 'malformed JSON',
      fault: { endpoint: 'getUpdates', kind: 'malformed' },
      check: (e) => {
        expect(e).toBeInstanceOf(HttpError);
        expect(e).toMatchObject({ kind: 'malformed', status: 200 });
        expect(e.message).toMatch(/not valid JSON; the server sent something that is not iLink JSON; check the API base URL/);
      },
    },
    {
      name: 'ret -2',
      fault: { endpoint: 'getUpdates', kind: 'ret-2' },
      check: (e) => {
        expect(e).toBeInstanceOf(ContextTokenError);
        expect((e as ApiError).code).toBe(-2);
        expect(e.message).toMatch(/code -2 on getupdates/);
      },
    },
    {
      name: 'other ret (-1)',
      fault: { endpoint: 'getUpdates', kind: 'ret', ret: -1 },
      check: (e) => {
        expect(e).toBeInstanceOf(ApiError);
        expect(e).not.toBeInstanceOf(ContextTokenError);
        expect(e.message).toBe('iLink getupdates failed (ret -1: injected fault)');
      },
    },
  ];

  test.each(cases)('$name', async ({ fault, check }) => {
    const h = harness({ start: false, poller: { timings: TIMINGS } });
    sim.admin.injectFault(fault);
    h.inject('before 1');
    h.inject('before 2');
    h.start();

    // The first poll hits the fault: typed error, 'retrying', then a 2 s sleep on the clock.
    expect(await h.clock.waitForSleep(1)).toEqual([2000]);
    expect(h.errors).toHaveLength(1);
    const { error, info } = h.errors[0]!;
    expectTyped(error);
    check(error);
    expect(info).toMatchObject({ source: 'poll', consecutiveFailures: 1, retryInMs: 2000 });
    expect(h.statuses.find((s) => s.status === 'retrying')?.detail).toBe(error.message);
    expect(h.received).toHaveLength(0);

    // Nothing is requested while the poller backs off; a message arriving meanwhile waits in the queue.
    h.inject('during backoff');
    const polls = h.polls();
    await pause(150);
    expect(h.polls()).toBe(polls);
    expect(h.received).toHaveLength(0);

    h.clock.advance(1999);
    await pause(50);
    expect(h.polls()).toBe(polls);
    h.clock.advance(1);
    await until(() => h.received.length === 3, 5000, 'delivery after the fault');
    h.inject('after');
    await until(() => h.received.length === 4, 5000, 'delivery of a later message');
    await morePolls(h);
    expect(h.receivedIds()).toEqual(h.expected);
    expect(h.received.map((m) => m.text)).toEqual(['before 1', 'before 2', 'during backoff', 'after']);
    expect(h.errors).toHaveLength(1);
  });

  test('backoff sequence 2 s, 2 s, 30 s, 2 s, 2 s; a success resets the counter; messages around every fault arrive once, in order', async () => {
    const h = harness({ start: false, poller: { timings: TIMINGS } });
    const faults = [
      { endpoint: 'getUpdates', kind: 'http5xx' },
      { endpoint: 'getUpdates', kind: 'drop' },
      { endpoint: 'getUpdates', kind: 'malformed' },
      { endpoint: 'getUpdates', kind: 'ret-2' },
      { endpoint: 'getUpdates', kind: 'http5xx', status: 503 },
    ] as const;
    for (const fault of faults) sim.admin.injectFault({ ...fault });
    h.inject('m0');
    h.start();
    const sleeps: number[] = [];
    for (let i = 0; i < faults.length; i++) {
      const [sleep] = await h.clock.waitForSleep(1);
      sleeps.push(sleep!);
      h.inject(`m${i + 1}`, i % 2 ? USER : 'bob@im.wechat');
      expect(h.received).toHaveLength(0);
      h.clock.advance(sleep!);
      // advance() resolved the sleep; wait until the poller is off the clock before looking again.
      await until(() => h.clock.pendingSleeps.length === 0 || h.received.length > 0);
      if (i < faults.length - 1) await until(() => h.clock.pendingSleeps.length === 1, 5000, `sleep ${i + 2}`);
    }
    expect(sleeps).toEqual([2000, 2000, 30000, 2000, 2000]);
    expect(h.errors.map((e) => e.info.consecutiveFailures)).toEqual([1, 2, 3, 1, 2]);
    expect(h.errors.map((e) => e.info.retryInMs)).toEqual(sleeps);
    expect(h.errors.map((e) => (e.error instanceof HttpError ? e.error.kind : e.error.name))).toEqual([
      'status',
      'network',
      'malformed',
      'ContextTokenError',
      'status',
    ]);
    await until(() => h.received.length === 6, 5000, 'delivery after the faults');
    expect(h.receivedIds()).toEqual(h.expected);

    // The success reset the counter: the next fault sleeps 2 s, not 30 s.
    sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'http5xx' });
    h.inject('wakes the held poll'); // the held poll answers normally; the next one meets the fault
    expect(await h.clock.waitForSleep(1)).toEqual([2000]);
    expect(h.errors.at(-1)!.info.consecutiveFailures).toBe(1);
    h.inject('last');
    h.clock.advance(2000);
    await until(() => h.received.length === 8);
    await morePolls(h);
    expect(h.receivedIds()).toEqual(h.expected);
  });

  test('client timeout (server delay beyond it) is an empty success: no error, no backoff, immediate re-poll with the same cursor (§5.3)', async () => {
    const h = harness({ start: false, poller: { timings: TIMINGS } });
    sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'delay', delayMs: 5000 });
    h.inject('a');
    h.inject('b');
    const started = Date.now();
    h.start();
    // The ManualClock never moves in this test, so any backoff sleep would block delivery forever.
    await until(() => h.received.length === 2, 4000, 'delivery after the timeout');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(h.errors).toEqual([]);
    expect(h.statuses.some((s) => s.status === 'retrying')).toBe(false);
    const [first, second] = sim.admin.requests({ endpoint: 'getUpdates' });
    expect(JSON.parse(first!.rawBody!).get_updates_buf).toBe('');
    expect(JSON.parse(second!.rawBody!).get_updates_buf).toBe('');
    const gap = second!.time - first!.time;
    expect(gap).toBeGreaterThanOrEqual(280); // the client waited its 300 ms timeout…
    expect(gap).toBeLessThan(1500); // …and re-polled at once, not after a 2 s retry
    await morePolls(h);
    expect(h.receivedIds()).toEqual(h.expected);
  });

  test('a slow body within the timeout is read whole', async () => {
    const h = harness({ start: false, poller: { timings: { initialTimeoutMs: 2000 } } });
    sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'slowBody', delayMs: 40 });
    h.inject('slow 1');
    h.inject('slow 2');
    const started = Date.now();
    h.start();
    await until(() => h.received.length === 2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150); // 4 gaps of 40 ms
    expect(h.errors).toEqual([]);
    await morePolls(h);
    // One answer carried both messages: the poll after it already asks with the new cursor.
    const polls = sim.admin.requests({ endpoint: 'getUpdates' });
    expect(JSON.parse(polls[0]!.rawBody!).get_updates_buf).toBe('');
    expect(JSON.parse(polls[1]!.rawBody!).get_updates_buf).not.toBe('');
    expect(h.receivedIds()).toEqual(h.expected);
  });

  // Depends on the simulator NOT replaying (its default, as the real server): an answer cut off would be lost for good.
  test('a body slower than the client timeout is still read to the end: its messages exist nowhere else (§10)', async () => {
    const h = harness({ start: false, poller: { timings: TIMINGS } });
    sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'slowBody', delayMs: 250 }); // 1 s in all, timeout 300 ms
    h.inject('x1');
    h.inject('x2');
    h.start();
    await until(() => h.received.length === 2);
    expect(h.errors).toEqual([]);
    await until(() => sim.admin.requests({ endpoint: 'getUpdates' }).length >= 2);
    const polls = sim.admin.requests({ endpoint: 'getUpdates' });
    // The slow answer was adopted whole: the second poll asked with its cursor.
    expect(JSON.parse(polls[1]!.rawBody!).get_updates_buf).not.toBe('');
    await morePolls(h);
    expect(h.receivedIds()).toEqual(h.expected);
  });

  test("errcode -14 with 'pause': 1 h pause on the clock, sends refused meanwhile, then resume with every message once", async () => {
    const h = harness({ start: false, poller: { timings: TIMINGS, onSessionExpired: 'pause' } });
    sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'errcode-14' });
    const first = h.inject('before -14');
    h.start();
    expect(await h.clock.waitForSleep(1)).toEqual([3_600_000]);
    const { error, info } = h.errors[0]!;
    expect(error).toBeInstanceOf(SessionExpiredError);
    expect(error.message).toBe('session expired (iLink code -14 on getupdates): scan the QR code again to log the bot in');
    expect(info).toMatchObject({ consecutiveFailures: 0, retryInMs: 3_600_000 });
    expect(h.statuses.map((s) => s.status)).toContain('paused');

    // §5.4: while paused, outbound sends throw, without a request.
    const sendsBefore = sim.admin.requests({ endpoint: 'sendMessage' }).length;
    const refused = await rejection(h.client.send(USER, 'while paused', { contextToken: 'any' }));
    expect(refused).toBeInstanceOf(SessionExpiredError);
    expect(refused.message).toMatch(/scan the QR code again/);
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(sendsBefore);

    h.inject('during pause');
    h.clock.advance(3_599_999);
    await pause(100);
    expect(h.received).toHaveLength(0);
    h.clock.advance(1);
    await until(() => h.received.length === 2);
    expect(h.receivedIds()).toEqual(h.expected);
    // Polling again unblocks sends.
    await h.client.reply(h.received[0]!, 'back');
    expect(sim.admin.sentMessages({ botId: h.bot.botId }).map((s) => s.msg.item_list?.[0]?.text_item?.text)).toEqual(['back']);
    expect(h.received[0]!.messageId).toBe(first);
  });

  test("errcode -14 with 'stop': start() rejects with SessionExpiredError; a new poller on the same state file loses nothing", async () => {
    const state = join(tmp.dir, 'state.json');
    const h = harness({ state, poller: { timings: TIMINGS } });
    h.inject('m1');
    await until(() => h.received.length === 1);
    sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'errcode-14' });
    h.inject('m2'); // wakes the held poll; the poll after it meets -14
    const error = await rejection(h.done!);
    expect(error).toBeInstanceOf(SessionExpiredError);
    expect(h.poller.status).toBe('session-expired');
    h.inject('m3');
    const fromBob = h.inject('m4', 'bob@im.wechat');

    // Re-login is simulated by the one-shot fault being gone; same bot, same state file.
    const client = new ILinkClient({ token: h.bot.token, botId: h.bot.botId, baseUrl: sim.apiBaseUrl, state });
    const later: string[] = [];
    const poller = client.createPoller((m) => void later.push(m.messageId), { timings: TIMINGS });
    const done = poller.start();
    await until(() => h.received.length + later.length >= 4);
    await pause(400);
    await poller.stop();
    await done;
    // Users are handled side by side: every message once, and alice's in order.
    const all = [...h.receivedIds(), ...later];
    expect([...all].sort()).toEqual([...h.expected].sort());
    expect(all.filter((id) => id !== fromBob)).toEqual(h.expected.filter((id) => id !== fromBob));
  });
});

describe('getupdates: a hostile longpolling_timeout_ms (§5.2)', () => {
  // Above 2^31-1 ms (1e10, or 1e400 which JSON.parse makes Infinity) Node clamps a timer to 1 ms: a hint
  // taken as is would make every poll "time out" at once and re-poll (§5.3), a busy loop. Found by the fuzz suite.
  test('a value over 2^31-1 ms does not turn the poller into a 1 ms busy loop', async () => {
    const server = await startScriptedServer();
    server.fallback = { body: { ret: 0, msgs: [], get_updates_buf: 'c2' }, delayMs: 250 };
    server.answer({ body: { ret: 0 } }, { body: '{"ret":0,"msgs":[],"get_updates_buf":"c1","longpolling_timeout_ms":10000000000}' });
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    const client = new ILinkClient({ token: 't-123456', baseUrl: server.url, clock: new ManualClock() });
    const poller = client.createPoller(() => undefined, { timings: TIMINGS });
    const done = poller.start();
    try {
      await pause(600);
      const polls = server.requests.filter((r) => r.url.endsWith('/getupdates')).length;
      // A sane poller makes ~3 polls here (each held 250 ms by the server); a busy loop makes hundreds.
      expect(polls).toBeLessThan(10);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
      server.answer({ body: { ret: 0 } });
      await poller.stop();
      await done;
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------
// sendmessage
// ---------------------------------------------------------------------------

describe('sendmessage faults: typed error after exactly one request (sends are never retried)', () => {
  const cases: Array<{ name: string; fault: Parameters<Simulator['admin']['injectFault']>[0]; check: (e: any) => void }> = [
    { name: 'HTTP 5xx', fault: { endpoint: 'sendMessage', kind: 'http5xx' }, check: (e) => expect(e).toMatchObject({ name: 'HttpError', kind: 'status', status: 500 }) },
    { name: 'connection reset', fault: { endpoint: 'sendMessage', kind: 'drop' }, check: (e) => expect(e).toMatchObject({ name: 'HttpError', kind: 'network' }) },
    { name: 'malformed JSON', fault: { endpoint: 'sendMessage', kind: 'malformed' }, check: (e) => expect(e).toMatchObject({ name: 'HttpError', kind: 'malformed' }) },
    {
      name: 'client timeout',
      fault: { endpoint: 'sendMessage', kind: 'delay', delayMs: 3000 },
      check: (e) => {
        expect(e).toMatchObject({ name: 'HttpError', kind: 'timeout' });
        expect(e.message).toMatch(/no answer within 300 ms/);
      },
    },
    {
      name: 'ret -2',
      fault: { endpoint: 'sendMessage', kind: 'ret-2' },
      check: (e) => {
        expect(e).toBeInstanceOf(ContextTokenError);
        expect(e.message).toMatch(/the user must send the bot a new message before it can answer/);
      },
    },
    { name: 'errcode -14', fault: { endpoint: 'sendMessage', kind: 'errcode-14' }, check: (e) => expect(e).toBeInstanceOf(SessionExpiredError) },
    { name: 'other ret', fault: { endpoint: 'sendMessage', kind: 'ret', ret: -5 }, check: (e) => expect(e).toMatchObject({ name: 'ApiError', ret: -5 }) },
  ];

  test.each(cases)('$name', async ({ fault, check }) => {
    const bot = sim.admin.createBot();
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, timeouts: { sendMessage: 300 } });
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    sim.admin.injectFault(fault);
    const error = await rejection(client.send(USER, 'hello', { contextToken }));
    expectTyped(error);
    check(error);
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(1);
    expect(sim.admin.sentMessages({ botId: bot.botId })).toHaveLength(0);
    // The fault is gone: the caller's own retry goes through, once.
    await client.send(USER, 'hello again', { contextToken });
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(2);
    expect(sim.admin.sentMessages({ botId: bot.botId })).toHaveLength(1);
  });

  test('a slow body within the send timeout succeeds with the server message ID', async () => {
    const bot = sim.admin.createBot();
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl });
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'slowBody', delayMs: 30 });
    const [result] = await client.send(USER, 'slow', { contextToken });
    expect(result!.messageId).toBe(sim.admin.sentMessages({ botId: bot.botId })[0]!.messageId);
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(1);
  });

  // Only getupdates (and the QR status poll) is retried; a failed sendmessage is not, and its error must say so.
  test('a failed send does not claim it will be retried', async () => {
    const bot = sim.admin.createBot();
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl });
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'http5xx' });
    const error = await rejection(client.send(USER, 'hello', { contextToken }));
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(1);
    expect(error.message).not.toMatch(/will be retried/);
    expect(error.message).toMatch(/try again|send it again/i);
  });

  test('a send whose connection broke warns that the message may have arrived, instead of inviting a blind resend', async () => {
    const bot = sim.admin.createBot();
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl });
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'drop' });
    const error = await rejection(client.send(USER, 'hello', { contextToken }));
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(1);
    expect(error.message).toMatch(/^iLink sendmessage: request failed: .*the message may have arrived anyway .*check the chat before sending again$/);
  });
});

// ---------------------------------------------------------------------------
// CDN
// ---------------------------------------------------------------------------

describe('CDN upload faults (§7 step 6): 3 attempts on 5xx / missing x-encrypted-param, none on 4xx', () => {
  const PLAIN = Buffer.from('fault-test payload '.repeat(300));

  async function setup(maxMediaBytes?: number) {
    const bot = sim.admin.createBot();
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl, maxMediaBytes });
    const uploads = () => sim.cdn.requests.filter((r) => r.op === 'upload');
    const uploadUrlCalls = () => sim.admin.requests({ endpoint: 'getUploadUrl' }).length;
    return { bot, client, uploads, uploadUrlCalls };
  }

  test('two 500s, then success: 3 POSTs, no delay, and the result downloads to the same bytes', async () => {
    const { client, uploads, uploadUrlCalls } = await setup();
    sim.admin.cdnFault({ op: 'upload', kind: 'status500', count: 2 });
    const started = Date.now();
    const uploaded = await client.uploadMedia(PLAIN, { fileName: 'a.txt', toUserId: USER });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(uploads().map((r) => r.status)).toEqual([500, 500, 200]);
    expect(uploadUrlCalls()).toBe(1);
    const item = toItem({ type: 4, file_item: { media: { encrypt_query_param: uploaded.media.encryptQueryParam, aes_key: uploaded.media.aesKey }, file_name: 'a.txt' } });
    expect((await client.downloadMedia(item)).data.equals(PLAIN)).toBe(true);
  });

  test('500, missing header, then success: still 3 attempts in all', async () => {
    const { client, uploads } = await setup();
    sim.admin.cdnFault({ op: 'upload', kind: 'status500' });
    sim.admin.cdnFault({ op: 'upload', kind: 'noEncryptedParam' });
    await client.uploadMedia(PLAIN, { fileName: 'a.txt', toUserId: USER });
    expect(uploads().map((r) => r.status)).toEqual([500, 200, 200]);
  });

  test('three 500s: MediaError cdn_status after exactly 3 attempts, saying what to do', async () => {
    const { client, uploads } = await setup();
    sim.admin.cdnFault({ op: 'upload', kind: 'status500', count: 5 });
    const error = await rejection(client.uploadMedia(PLAIN, { fileName: 'a.txt', toUserId: USER }));
    expect(error).toBeInstanceOf(MediaError);
    expect(error).toMatchObject({ kind: 'cdn_status', status: 500, attempts: 3 });
    expect(error.message).toMatch(/^CDN upload failed after 3 attempts: CDN answered HTTP 500 \(injected fault: internal error\); check the CDN URL and the network, then try again$/);
    expect(uploads()).toHaveLength(3);
  });

  test('200 without x-encrypted-param three times: MediaError cdn_missing_param after 3 attempts', async () => {
    const { client, uploads } = await setup();
    sim.admin.cdnFault({ op: 'upload', kind: 'noEncryptedParam', count: 3 });
    const error = await rejection(client.uploadMedia(PLAIN, { fileName: 'a.txt', toUserId: USER }));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'cdn_missing_param', attempts: 3 });
    expect(error.message).toMatch(/without the x-encrypted-param header; check the CDN URL and the network, then try again/);
    expect(uploads()).toHaveLength(3);
  });

  test('4xx: MediaError cdn_rejected at once with the x-error-message text, no retry; sendMedia sends nothing', async () => {
    const { bot, client, uploads } = await setup();
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    sim.admin.cdnFault({ op: 'upload', kind: 'status4xx', status: 403, message: 'quota exceeded' });
    const error = await rejection(client.sendMedia(USER, PLAIN, { fileName: 'a.txt', caption: 'look', contextToken }));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'cdn_rejected', status: 403, attempts: 1 });
    expect(error.message).toBe('CDN refused the upload (HTTP 403: quota exceeded); the file was not sent: check its type and size against that reason');
    expect(uploads()).toHaveLength(1);
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(0);
  });

  test('getuploadurl 5xx: HttpError, not retried, the CDN is never contacted', async () => {
    const { client, uploads, uploadUrlCalls } = await setup();
    sim.admin.injectFault({ endpoint: 'getUploadUrl', kind: 'http5xx' });
    const error = await rejection(client.uploadMedia(PLAIN, { fileName: 'a.txt', toUserId: USER }));
    expect(error).toMatchObject({ name: 'HttpError', kind: 'status', status: 500, endpoint: 'getuploadurl' });
    expect(uploadUrlCalls()).toBe(1);
    expect(uploads()).toHaveLength(0);
  });

  test('a file over the cap fails before anything is sent', async () => {
    const { client, uploads, uploadUrlCalls } = await setup(1024);
    const error = await rejection(client.uploadMedia(Buffer.alloc(5000, 1), { fileName: 'big.bin', toUserId: USER }));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'too_large' });
    expect(error.message).toMatch(/too large: 4\.9 KiB \(5000 bytes\), the limit is 1 KiB \(1024 bytes\); use a smaller file \(compress or split it\)$/);
    expect(uploadUrlCalls()).toBe(0);
    expect(uploads()).toHaveLength(0);
  });
});

describe('CDN download faults (§7 Download): typed MediaErrors, one request each (downloads are not retried)', () => {
  const PLAIN = Buffer.from('download fault payload '.repeat(400)); // 9200 bytes

  async function stored(kind: 'file' | 'image' = 'file'): Promise<Item> {
    return toItem(await sim.cdn.encryptAndStore(PLAIN, { kind, fileName: 'p.txt' }));
  }
  /** cdnBaseUrl: a test's own misbehaving CDN (a full_url is only fetched on the configured CDN's origin). */
  async function client(maxMediaBytes?: number, cdnBaseUrl = sim.cdnBaseUrl) {
    const bot = sim.admin.createBot();
    return new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, cdnBaseUrl, maxMediaBytes });
  }
  const downloads = () => sim.cdn.requests.filter((r) => r.op === 'download');

  test('CDN 500: cdn_status; the next call (the caller’s retry) works', async () => {
    const c = await client();
    const item = await stored();
    sim.admin.cdnFault({ op: 'download', kind: 'status500' });
    const error = await rejection(c.downloadMedia(item));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'cdn_status', status: 500 });
    expect(error.message).toBe('CDN download failed with HTTP 500 (injected fault: internal error); try again later (a link that keeps failing may have expired)');
    expect(downloads()).toHaveLength(1);
    expect((await c.downloadMedia(item)).data.equals(PLAIN)).toBe(true);
  });

  test('CDN 4xx: cdn_status with the CDN’s reason', async () => {
    const c = await client();
    const item = await stored();
    sim.admin.cdnFault({ op: 'download', kind: 'status4xx', status: 404, message: 'object expired' });
    const error = await rejection(c.downloadMedia(item));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'cdn_status', status: 404 });
    expect(error.message).toMatch(/HTTP 404 \(object expired\)/);
    expect(downloads()).toHaveLength(1);
  });

  test('truncated body: cdn_network "cut short … try again"', async () => {
    const c = await client();
    const item = await stored();
    sim.admin.cdnFault({ op: 'download', kind: 'truncatedBody' });
    const error = await rejection(c.downloadMedia(item));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'cdn_network' });
    expect(error.message).toMatch(/cut short.*try again/);
  });

  test('slow body: read whole and decrypted', async () => {
    const c = await client();
    const item = await stored();
    sim.admin.cdnFault({ op: 'download', kind: 'slowBody', delayMs: 5 });
    const result = await c.downloadMedia(item);
    expect(result.data.equals(PLAIN)).toBe(true);
  });

  test('body over the cap (Content-Length, body still arriving): too_large, without reading it', async () => {
    // The announced length is over the cap; the server sends a little and holds the rest.
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(5000) });
      res.write(Buffer.alloc(100));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/blob`;
      const c = await client(1000, url);
      const error = await rejection(c.downloadMedia({ type: 'image', wireType: 2, image: { media: { fullUrl: url } } }));
      expect(error).toMatchObject({ name: 'MediaError', kind: 'too_large' });
      expect(error.message).toBe(
        'the media is too large: 4.9 KiB (5000 bytes), the limit is 1000 bytes; use a smaller file (compress or split it)',
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  // Destroying a body that has fully arrived makes undici emit an error nobody listens to: an uncaught exception
  // that would kill the host (n8n / Node-RED) after the caller got its MediaError. In a child process (dist/,
  // built by `npm run build`) because such a crash is process-wide.
  test('body over the cap (Content-Length) that arrived in full: typed error, and the process survives', async () => {
    const script = `
      const http = require('node:http');
      const { downloadMedia } = require(${JSON.stringify(join(__dirname, '../../dist/shared/media'))});
      const server = http.createServer((req, res) => res.end(Buffer.alloc(5000)));
      server.listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + server.address().port + '/x';
        try {
          await downloadMedia({ cdnBaseUrl: url, maxBytes: 1000 }, { type: 'image', wireType: 2, image: { media: { fullUrl: url } } });
          console.log('no error');
        } catch (e) { console.log('typed ' + e.name + ' ' + e.kind); }
        setTimeout(() => { console.log('alive'); process.exit(0); }, 200);
      });`;
    const { spawnSync } = await import('node:child_process');
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(child.stdout).toContain('typed MediaError too_large');
    expect(child.stderr).not.toMatch(/Unhandled 'error' event/);
    expect(child.stdout).toContain('alive');
    expect(child.status).toBe(0);
  });

  test('body over the cap without Content-Length: stops reading soon after the limit', async () => {
    let written = 0;
    let closed!: () => void;
    const socketClosed = new Promise<void>((r) => (closed = r));
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked, no length
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (written < 50 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => closed());
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/blob`;
      const c = await client(256 * 1024, url);
      const item: Item = { type: 'image', wireType: 2, image: { media: { fullUrl: url } } }; // no key: plain bytes
      const error = await rejection(c.downloadMedia(item));
      expect(error).toMatchObject({ name: 'MediaError', kind: 'too_large' });
      await socketClosed;
      expect(written).toBeLessThan(8 * 1024 * 1024); // far from the 50 MiB the server wanted to send
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('wrong key (bad padding): bad_padding "wrong key or damaged file"', async () => {
    const c = await client();
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const wrong = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex');
    const param = sim.cdn.storeObject(encryptAesEcb(key, PLAIN));
    // Checked once: with this fixed pair the last block does not decrypt to valid PKCS#7 (random pairs would pass ~1/255 of the time).
    const item: Item = { type: 'file', wireType: 4, file: { media: { encryptQueryParam: param, aesKey: wrong.toString('base64') }, fileName: 'p.txt' } };
    const error = await rejection(c.downloadMedia(item));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'bad_padding' });
    expect(error.message).toBe('cannot decrypt the media: wrong key or damaged file (invalid padding)');
    // The right key works on the same object.
    const ok: Item = { ...item, file: { ...item.file, media: { encryptQueryParam: param, aesKey: key.toString('base64') } } };
    expect((await c.downloadMedia(ok)).data.equals(PLAIN)).toBe(true);
  });

  test('an unusable key: bad_key before any request', async () => {
    const c = await client();
    const item: Item = { type: 'video', wireType: 5, video: { media: { encryptQueryParam: 'x', aesKey: Buffer.alloc(10).toString('base64') } } };
    const error = await rejection(c.downloadMedia(item));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'bad_key' });
    expect(error.message).toMatch(/base64 decodes to 10 bytes, expected 16 raw bytes or 32 hex characters/);
    expect(downloads()).toHaveLength(0);
  });
});
