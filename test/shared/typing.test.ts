import { ManualClock } from '../../shared/clock';
import { Transport } from '../../shared/transport';
import { TypingIndicator, TypingTicketCache } from '../../shared/typing';
import { ILinkClient } from '../../shared/client';
import type { Logger } from '../../shared/log';
import { startSimulator, type Simulator } from '../../simulator';
import type { FaultSpec } from '../../simulator/faults';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { until } from '../helpers/until';

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(() => server.close());

const HOUR = 3_600_000;
const configCalls = () => server.requests.filter((r) => r.url.endsWith('/getconfig'));
const typingCalls = () => server.requests.filter((r) => r.url.endsWith('/sendtyping')).map((r) => JSON.parse(r.body));

function setup(random = () => 0.5) {
  const clock = new ManualClock();
  const transport = new Transport({ baseUrl: server.url, token: 'token-abcdef' });
  const cache = new TypingTicketCache(transport, clock, random);
  return { clock, transport, cache, typing: new TypingIndicator(transport, cache, clock) };
}

describe('typing ticket cache (§5.8)', () => {
  test('caches a ticket until a random point within 24 h, sending the context token', async () => {
    server.fallback = { body: { ret: 0, typing_ticket: 'T1' } };
    const { cache, clock } = setup(() => 0.25);
    expect(await cache.ticketFor('u', 'ctx-9')).toBe('T1');
    expect(JSON.parse(configCalls()[0].body)).toMatchObject({ ilink_user_id: 'u', context_token: 'ctx-9' });
    expect(cache.nextFetchAt('u')).toBe(clock.now() + 6 * HOUR);
    clock.advance(6 * HOUR - 1);
    await cache.ticketFor('u');
    expect(configCalls()).toHaveLength(1);
    clock.advance(1);
    await cache.ticketFor('u');
    expect(configCalls()).toHaveLength(2);
    expect(JSON.parse(configCalls()[1].body).context_token).toBeUndefined();
  });

  test('first failure: empty ticket, retry after 2 s; later failures keep the old ticket and double up to 1 h', async () => {
    const { cache, clock } = setup(() => 0);
    server.answer({ body: { ret: 1 } });
    expect(await cache.ticketFor('u')).toBe('');
    expect(cache.nextFetchAt('u')).toBe(clock.now() + 2000);
    clock.advance(2000);
    server.answer({ body: { ret: 0, typing_ticket: 'OLD' } });
    expect(await cache.ticketFor('u')).toBe('OLD'); // random() = 0 → due again at once
    const delays: number[] = [];
    for (let i = 0; i < 13; i++) {
      server.answer({ status: 500, body: 'x' });
      const before = clock.now();
      expect(await cache.ticketFor('u')).toBe('OLD');
      delays.push((cache.nextFetchAt('u') as number) - before);
      clock.advance(delays[delays.length - 1]);
    }
    expect(delays.slice(0, 4)).toEqual([4000, 8000, 16000, 32000]);
    expect(delays[delays.length - 1]).toBe(HOUR);
  });

  test('concurrent lookups share one getconfig', async () => {
    server.fallback = { body: { ret: 0, typing_ticket: 'T' }, delayMs: 30 };
    const { cache } = setup();
    await Promise.all([cache.ticketFor('u'), cache.ticketFor('u'), cache.ticketFor('u')]);
    expect(configCalls()).toHaveLength(1);
  });
});

describe('typing indicator (§5.9)', () => {
  test('set() sends status 1 or 2 with the ticket; no ticket → skipped', async () => {
    server.answer({ body: { ret: 0, typing_ticket: 'TK' } });
    const { typing } = setup();
    expect(await typing.set('u', true)).toBe(true);
    expect(await typing.set('u', false)).toBe(true);
    expect(typingCalls()).toEqual([
      expect.objectContaining({ ilink_user_id: 'u', typing_ticket: 'TK', status: 1 }),
      expect.objectContaining({ ilink_user_id: 'u', typing_ticket: 'TK', status: 2 }),
    ]);
    server.answer({ body: { ret: 0, typing_ticket: '' } });
    expect(await typing.set('v', true)).toBe(false);
    expect(typingCalls()).toHaveLength(2);
  });

  test('around() repeats status 1 every 5 s while work runs, then sends status 2', async () => {
    server.fallback = { body: { ret: 0, typing_ticket: 'TK' } };
    const { typing, clock } = setup();
    let finish!: (v: string) => void;
    const result = typing.around('u', () => new Promise<string>((r) => (finish = r)));
    expect(await clock.waitForSleep(1)).toEqual([5000]);
    expect(typingCalls().map((c) => c.status)).toEqual([1]);
    clock.advance(5000);
    await clock.waitForSleep(1);
    clock.advance(5000);
    await clock.waitForSleep(1);
    expect(typingCalls().map((c) => c.status)).toEqual([1, 1, 1]);
    finish('done');
    expect(await result).toBe('done');
    expect(typingCalls().map((c) => c.status)).toEqual([1, 1, 1, 2]);
  });

  test('getconfig down: no ticket, typing is skipped and the work still runs', async () => {
    server.fallback = { status: 500, body: 'down' };
    const { typing } = setup();
    await expect(typing.around('u', async () => 42)).resolves.toBe(42);
    expect(typingCalls()).toHaveLength(0);
  });

  test('an error from the work itself still stops typing and propagates', async () => {
    server.fallback = { body: { ret: 0, typing_ticket: 'TK' } };
    const { typing } = setup();
    const work = async () => {
      while (typingCalls().length === 0) await new Promise((r) => setTimeout(r, 2));
      throw new Error('work failed');
    };
    await expect(typing.around('u', work)).rejects.toThrow('work failed');
    expect(typingCalls().map((c) => c.status)).toEqual([1, 2]);
  });
});

describe('sendtyping failing on the server (simulator faults)', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ longPollTimeoutMs: 300 });
  });
  afterAll(() => sim.stop());

  const USER = 'alice@im.wechat';

  /** A client with a ticket already cached (getconfig worked), logging into `warnings`. */
  async function clientWithTicket() {
    const bot = sim.admin.createBot();
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, logger });
    expect(await client.typing.set(USER, false, { contextToken })).toBe(true); // ticket fetched, sendtyping works
    // Faulted requests are answered before auth, so they carry no bot ID; the tests run one after another.
    return { bot, client, contextToken, warnings, typingRequests: () => sim.admin.requests({ endpoint: 'sendTyping' }).length };
  }

  test('sendTyping with the context token option left undefined uses the user\'s stored one', async () => {
    const bot = sim.admin.createBot();
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    client.state.rememberContextToken(USER, contextToken);
    // What a host passes when its "Context Token" field is empty.
    expect(await client.sendTyping(USER, true, { contextToken: undefined })).toBe(true);
    const asked = sim.admin.requests({ endpoint: 'getConfig' }).filter((r) => r.botId === bot.botId);
    expect(asked.map((r) => (r.body as { context_token?: string }).context_token)).toEqual([contextToken]);
  });

  test.each<[string, Omit<FaultSpec, 'endpoint' | 'count'>, RegExp]>([
    ['HTTP 503', { kind: 'http5xx', status: 503 }, /sendtyping: HTTP 503/],
    ['a reset connection', { kind: 'drop' }, /sendtyping: request failed/],
    ['ret -1', { kind: 'ret', ret: -1 }, /sendtyping failed \(ret -1/],
  ])('%s on every sendtyping: the work completes, each failure is logged (without the token)', async (_name, fault, named) => {
    const { bot, client, contextToken, warnings, typingRequests } = await clientWithTicket();
    const before = typingRequests();
    sim.admin.injectFault({ endpoint: 'sendTyping', count: 2, ...fault }); // the start and the stop
    // The work outlasts the first "typing" call, so both the start and the stop reach the server and fail there.
    const work = async () => {
      await until(() => warnings.length === 1);
      return 'reply ready';
    };
    await expect(client.withTyping(USER, work, { contextToken })).resolves.toBe('reply ready');
    expect(typingRequests() - before).toBe(2);
    expect(sim.admin.pendingFaults()).toEqual([]);
    expect(warnings).toHaveLength(2);
    for (const line of warnings) {
      expect(line).toContain(`typing indicator for ${USER} failed`);
      expect(line).toMatch(named);
      expect(line).not.toContain(bot.token);
    }
  });

  test('the work\'s own result or error is what the caller gets, whatever typing does', async () => {
    const { client, contextToken, warnings } = await clientWithTicket();
    sim.admin.injectFault({ endpoint: 'sendTyping', kind: 'http5xx', count: 2 });
    const work = async () => {
      await until(() => warnings.length === 1);
      throw new Error('work failed');
    };
    await expect(client.withTyping(USER, work, { contextToken })).rejects.toThrow('work failed');
    expect(warnings).toHaveLength(2);
  });
});
