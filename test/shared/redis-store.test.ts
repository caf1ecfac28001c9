/**
 * The bot's state in Redis, as n8n's main and workers share it in queue mode:
 * each "process" here is its own RedisStateStore + BotState + ILinkClient on
 * its own Redis connection, against a real redis-server and the simulator over
 * real HTTP (the simulator enforces the 10-message budget itself, so a budget
 * spent twice shows as a refused send). The simulator does not replay
 * delivered messages here (as the real server, §10).
 */
import Redis from 'ioredis';
import { ILinkClient } from '../../shared/client';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { PollerConflictError } from '../../shared/poll-registry';
import { Poller } from '../../shared/poller';
import type { Message } from '../../shared/model';
import { RedisStateStore, type RedisCommands } from '../../shared/redis-store';
import { ReplyWindowError } from '../../shared/reply-window';
import { BotState } from '../../shared/store';
import { TypingSessions } from '../../shared/typing';
import { startSimulator, type Simulator } from '../../simulator';
import { startRedis, type RedisInstance } from '../harness/redis';
import { until } from '../helpers/until';

let redisServer: RedisInstance;
let sim: Simulator;
const connections: Redis[] = [];
const stoppers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redisServer = await startRedis({ name: 'redis-store' });
});
afterAll(() => redisServer.stop());
beforeEach(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300 });
  await redisServer.command('FLUSHALL');
});
afterEach(async () => {
  for (const stop of stoppers.splice(0)) await stop();
  for (const connection of connections.splice(0)) connection.disconnect();
  await sim.stop();
});

const ALICE = 'alice@im.wechat';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function connect(): Redis {
  const connection = new Redis({ host: redisServer.host, port: redisServer.port, maxRetriesPerRequest: null, lazyConnect: false });
  connections.push(connection);
  return connection;
}

/** One n8n process's view of the bot: its own Redis connection, store, state and client. */
async function processOn(bot: { token: string; botId: string }, options: { redis?: RedisCommands; compactEvery?: number } = {}) {
  const store = await RedisStateStore.open({ redis: options.redis ?? connect(), botKey: bot.botId, compactEvery: options.compactEvery });
  const state = new BotState(store);
  const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, state, logger: quiet, rateLimitRetry: { delaysMs: [], maxTotalMs: 0 } });
  return { store, state, client };
}

/** The "main" process: it polls and records every message it handled. */
async function mainOn(bot: { token: string; botId: string }, options: { redis?: RedisCommands; onMessage?: (m: Message) => Promise<void> | void } = {}) {
  const main = await processOn(bot, options);
  const received: Message[] = [];
  const controller = new AbortController();
  const listening = main.client.listen(
    async (m) => {
      await options.onMessage?.(m);
      received.push(m);
    },
    { signal: controller.signal },
  );
  stoppers.push(async () => {
    controller.abort();
    await listening;
  });
  return { ...main, received };
}

/** Main polling and a worker on one bot, after Alice's first message reached main. */
async function aliceWroteToMain() {
  const bot = sim.admin.createBot();
  const main = await mainOn(bot);
  const worker = await processOn(bot);
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'hi' });
  await until(() => main.received.length === 1);
  return { bot, main, worker, message: main.received[0] };
}

const texts = (user: string) => sim.admin.sentMessages({ to: user }).map((s) => s.msg.item_list?.[0]?.text_item?.text);

test('a fetched message is in Redis before the handler sees it: while Redis holds the write back, the handler waits', async () => {
  const bot = sim.admin.createBot();
  const redis = connect();
  let release: () => void = () => undefined;
  let held = 0;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // Holds back every journal write that carries a fetched message, until released.
  const gated: RedisCommands = {
    async call(command, ...args) {
      if (command === 'XADD' && String(args[args.length - 1]).includes('"fetched"')) {
        held++;
        await gate;
      }
      return redis.call(command, ...args);
    },
  };
  const seenInRedis: boolean[] = [];
  // The poller alone (no outbox flush before the handler, which would wait for Redis too).
  const { client } = await processOn(bot, { redis: gated });
  const received: Message[] = [];
  const poller = new Poller({
    transport: client.transport,
    state: client.state,
    handler: async (m) => {
      // What another process reads from Redis at the moment the handler starts.
      const other = await RedisStateStore.open({ redis: connect(), botKey: bot.botId });
      seenInRedis.push(other.load()?.inbox.some((entry) => entry.key === m.messageId) ?? false);
      received.push(m);
    },
  });
  const polling = poller.start();
  stoppers.push(async () => {
    await poller.stop();
    await polling;
  });
  const main = { received };
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'hello' });
  await until(() => held === 1);
  // The poll answer is in: a few more event-loop turns change nothing while Redis has not acknowledged.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(main.received).toHaveLength(0);
  release();
  await until(() => main.received.length === 1);
  expect(seenInRedis).toEqual([true]);
});

test('a worker replies with the token and window main recorded, and main sees the budget the worker spent', async () => {
  const { bot, main, worker, message } = await aliceWroteToMain();

  await worker.state.refresh();
  expect(worker.client.replyWindow(ALICE)).toMatchObject({ open: true, known: true, sendsLeft: 10 });
  await worker.client.reply(message, ['one', 'two', 'three']);
  const sent = sim.admin.sentMessages({ to: ALICE });
  expect(sent.map((s) => s.msg.context_token)).toEqual([message.contextToken, message.contextToken, message.contextToken]);

  await main.state.refresh();
  expect(main.client.replyWindow(ALICE)).toMatchObject({ sendsLeft: 7 });
  // A process started later reads the same from Redis alone.
  const later = await processOn(bot);
  expect(later.client.replyWindow(ALICE)).toMatchObject({ open: true, sendsLeft: 7 });
});

test('two workers sending 6 messages each to one user at once: exactly 10 go out, in two unbroken runs, and the 11th fails before any request', async () => {
  const bot = sim.admin.createBot();
  const main = await mainOn(bot);
  const [a, b] = [await processOn(bot), await processOn(bot)];
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'hi' });
  await until(() => main.received.length === 1);
  const message = main.received[0];
  await Promise.all([a.state.refresh(), b.state.refresh()]);
  expect(a.client.replyWindow(ALICE).sendsLeft).toBe(10);
  expect(b.client.replyWindow(ALICE).sendsLeft).toBe(10);

  const results = await Promise.allSettled([
    a.client.reply(message, ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']),
    b.client.reply(message, ['b1', 'b2', 'b3', 'b4', 'b5', 'b6']),
  ]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(failed).toHaveLength(1);
  expect(failed[0].reason).toBeInstanceOf(ReplyWindowError);
  expect((failed[0].reason as ReplyWindowError).rule).toBe('budget');
  // The server refused nothing: the loser was refused here, before its first request.
  expect(sim.admin.requests({ endpoint: 'sendMessage' }).length).toBe(6);
  const got = texts(ALICE);
  expect(got).toEqual(got[0]?.startsWith('a') ? ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'] : ['b1', 'b2', 'b3', 'b4', 'b5', 'b6']);

  // Four left: one process sends 4, the other then finds none.
  await a.client.reply(message, ['c1', 'c2', 'c3', 'c4']);
  await expect(b.client.reply(message, 'c5')).rejects.toBeInstanceOf(ReplyWindowError);
  // Ten requests, ten delivered: none was refused by the server.
  expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(10);
  expect(texts(ALICE)).toHaveLength(10);
});

test('"typing…" that main shows ends when a worker replies with that message\'s token (at the next keepalive)', async () => {
  const { bot, main, worker, message } = await aliceWroteToMain();
  const sessions = new TypingSessions(main.client.typing, { group: main.state, intervalMs: 30 });
  stoppers.push(() => sessions.stopAll());
  sessions.start(ALICE, { contextToken: message.contextToken });
  await until(() => sim.admin.requests({ endpoint: 'sendTyping' }).length >= 4);
  expect(sessions.has(ALICE)).toBe(true);

  await worker.state.refresh();
  await worker.client.reply(message, 'the answer');
  await until(() => !sessions.has(ALICE));
  await until(() => sim.admin.typingState(bot.botId, ALICE).status === 2);
});

test('refreshes at the same time hand each change over once', async () => {
  const { main, worker, message } = await aliceWroteToMain();
  await worker.client.reply(message, ['one', 'two', 'three']);
  await Promise.all([main.state.refresh(), main.state.refresh(), main.state.refresh()]);
  expect(main.client.replyWindow(ALICE).sendsLeft).toBe(7);
});

test('what a worker queued for a user is sent by main when the user writes again, once', async () => {
  const bot = sim.admin.createBot();
  const main = await mainOn(bot);
  const worker = await processOn(bot);
  await worker.client.send(ALICE, 'for later', { whenClosed: 'queue' });
  expect(worker.client.outbox(ALICE)).toHaveLength(1);
  expect(texts(ALICE)).toEqual([]);

  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'back' });
  await until(() => main.received.length === 1);
  expect(texts(ALICE)).toEqual(['for later']);
  await worker.state.refresh();
  expect(worker.client.outbox(ALICE)).toEqual([]);
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'again' });
  await until(() => main.received.length === 2);
  expect(texts(ALICE)).toEqual(['for later']);
});

test('a process that fell behind a compaction catches up from the snapshot; a restart reads the same state; the journal stays short', async () => {
  const bot = sim.admin.createBot();
  const main = await mainOn(bot);
  const idle = await processOn(bot);
  const worker = await processOn(bot, { compactEvery: 5 });
  for (let i = 1; i <= 12; i++) {
    sim.admin.injectMessage({ botId: bot.botId, from: `user${i}@im.wechat`, text: `m${i}` });
    await until(() => main.received.length === i);
    await worker.state.refresh();
    await worker.client.send(`user${i}@im.wechat`, `answer ${i}`);
  }
  const journal = `wechat-ilink:{${bot.botId.replace(/[@.]/g, '-')}}:journal`;
  expect(Number(await connect().xlen(journal))).toBeLessThan(12 * 3);
  expect(await connect().get(journal.replace(':journal', ':covers'))).not.toBeNull();

  await main.state.refresh();
  await idle.state.refresh();
  const restarted = await processOn(bot);
  const view = (s: BotState) => {
    const { cursor, contextTokens, windows, budgets, outbox, inbox } = s.snapshot();
    return { cursor, contextTokens, windows, budgets, outbox, inbox };
  };
  expect(view(idle.state)).toEqual(view(main.state));
  expect(view(restarted.state)).toEqual(view(main.state));
  expect(idle.client.replyWindow('user12@im.wechat')).toMatchObject({ sendsLeft: 9 });
  expect(Object.keys(main.state.snapshot().contextTokens)).toHaveLength(12);
});

describe('one receiver per bot across processes (the claim in Redis)', () => {
  /** A poller of its own "process" (no in-process claim: only the one in Redis stands between them). */
  async function pollerOn(bot: { token: string; botId: string }, owner: string, receiverLeaseMs: number, options: { redis?: RedisCommands; leftoverCheckMs?: number } = {}) {
    const store = await RedisStateStore.open({ redis: options.redis ?? connect(), botKey: bot.botId, receiverLeaseMs });
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, state: new BotState(store), logger: quiet });
    const received: string[] = [];
    const statuses: string[] = [];
    const poller = new Poller({
      transport: client.transport,
      state: client.state,
      exclusive: { botKeys: [`${owner}-local`], owner },
      handler: (m) => void received.push(m.text),
      onStatus: (status) => statuses.push(status),
      timings: { initialTimeoutMs: 500, ...(options.leftoverCheckMs === undefined ? {} : { leftoverCheckMs: options.leftoverCheckMs }) },
    });
    const running = poller.start();
    running.catch(() => undefined);
    stoppers.push(() => poller.stop());
    return { poller, running, received, statuses };
  }

  test('a second process is refused, naming the first, after one lease; once the first stops, it receives', async () => {
    const bot = sim.admin.createBot();
    const first = await pollerOn(bot, 'n8n main A', 400);
    await until(() => first.statuses.includes('polling'));
    const second = await pollerOn(bot, 'n8n main B', 400);
    const refused = await second.running.then(
      () => undefined,
      (error: Error) => error,
    );
    expect(refused).toBeInstanceOf(PollerConflictError);
    expect(refused?.message).toContain(`another receiver is already polling this bot (n8n main A, process ${process.pid} on `);
    expect(second.statuses).toEqual(['starting', 'stopped']);
    // The refused one never polled nor announced itself.
    expect(sim.admin.notifications(bot.botId).filter((n) => n.kind === 'start')).toHaveLength(1);

    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'to A' });
    await until(() => first.received.length === 1);
    await first.poller.stop();
    const third = await pollerOn(bot, 'n8n main C', 400);
    await until(() => third.statuses.includes('polling'));
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'to C' });
    await until(() => third.received.length === 1);
    expect([first.received, third.received]).toEqual([['to A'], ['to C']]);
  });

  test('a claim left by a dead process of this machine is taken over at once; one left on another machine when its lease runs out', async () => {
    const bot = sim.admin.createBot();
    const key = `wechat-ilink:{${bot.botId.replace(/[@.]/g, '-')}}:receiver`;
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    await connect().set(key, JSON.stringify({ owner: 'a killed main', host: hostname(), pid: dead, since: 'then', id: 'x' }), 'PX', 60_000);
    const here = await pollerOn(bot, 'restarted main', 60_000);
    await until(() => here.statuses.includes('polling'), 2_000);
    await here.poller.stop();

    await connect().set(key, JSON.stringify({ owner: 'a main elsewhere', host: 'another-host', pid: 1, since: 'then', id: 'y' }), 'PX', 300);
    const after = await pollerOn(bot, 'new leader', 300);
    await until(() => after.statuses.includes('polling'), 2_000);
  });

  test('a claim that ran out while Redis was away, and that nobody took, is taken again: the poller goes on', async () => {
    const bot = sim.admin.createBot();
    const only = await pollerOn(bot, 'the only main', 200);
    await until(() => only.statuses.includes('polling'));
    const key = `wechat-ilink:{${bot.botId.replace(/[@.]/g, '-')}}:receiver`;
    const redis = connect();
    const mine = await redis.get(key);
    await redis.del(key);
    await until(async () => (await redis.get(key)) === mine, 2_000);
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'still there?' });
    await until(() => only.received.length === 1);
    expect(only.statuses).not.toContain('stopped');
  });

  test('an old receiver back after another took over leaves what it fetched meanwhile to the new one: handled once, by the new one', async () => {
    const bot = sim.admin.createBot();
    const redis = connect();
    let away = false;
    let heldFetch = 0;
    let comeBack: () => void = () => undefined;
    const back = new Promise<void>((resolve) => (comeBack = resolve));
    // Redis is away for the old receiver alone (its HTTP polls go on): its lease renewals fail, and its
    // writes wait until it is back (as in ioredis's offline queue); the first thing it does then is store that message.
    const flaky: RedisCommands = {
      async call(command, ...args) {
        if (away && command === 'EVAL') throw new Error('Connection is closed.');
        if (away) {
          if (command === 'XADD' && String(args[args.length - 1]).includes('"fetched"')) heldFetch++;
          await back;
        }
        return redis.call(command, ...args);
      },
    };
    const old = await pollerOn(bot, 'old leader', 200, { redis: flaky });
    await until(() => old.statuses.includes('polling'));
    away = true;
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'fetched by the old one' });
    await until(() => heldFetch === 1);
    // Its lease runs out; a new leader claims the bot and polls (the server does not replay, §10).
    const fresh = await pollerOn(bot, 'new leader', 200, { leftoverCheckMs: 0 });
    await until(() => fresh.statuses.includes('polling'), 3_000);
    away = false;
    comeBack();
    await expect(old.running).rejects.toBeInstanceOf(PollerConflictError);
    await until(() => fresh.received.length === 1, 3_000);
    expect([old.received, fresh.received]).toEqual([[], ['fetched by the old one']]);
    // Handled: it left the inbox, as every process reads it.
    const inboxInRedis = async () => (await RedisStateStore.open({ redis: connect(), botKey: bot.botId })).load()?.inbox.length;
    await until(async () => (await inboxInRedis()) === 0, 3_000);
  });

  test('while the claim was renewed less than half a lease ago, handing over an answer costs no round trip to Redis', async () => {
    const bot = sim.admin.createBot();
    const redis = connect();
    let renewals = 0;
    const counting: RedisCommands = {
      call(command, ...args) {
        if (command === 'EVAL' && String(args[0]).includes('PEXPIRE')) renewals++;
        return redis.call(command, ...args);
      },
    };
    // A 60 s lease: its timer renews after 15 s, long after this test.
    const only = await pollerOn(bot, 'the only main', 60_000, { redis: counting });
    await until(() => only.statuses.includes('polling'));
    for (const text of ['one', 'two', 'three']) {
      sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text });
      await until(() => only.received.includes(text));
    }
    expect(renewals).toBe(0);
  });

  test('a poller whose claim another process took over stops, with the conflict', async () => {
    const bot = sim.admin.createBot();
    const first = await pollerOn(bot, 'old leader', 200);
    await until(() => first.statuses.includes('polling'));
    const key = `wechat-ilink:{${bot.botId.replace(/[@.]/g, '-')}}:receiver`;
    await connect().set(key, JSON.stringify({ owner: 'new leader', host: 'another-host', pid: 1, since: 'now', id: 'z' }), 'PX', 60_000);
    await expect(first.running).rejects.toBeInstanceOf(PollerConflictError);
    expect(first.statuses[first.statuses.length - 1]).toBe('stopped');
  });
});

describe('the per-user send lock', () => {
  test('is renewed while a send runs longer than its lease: a second process waits for the whole send', async () => {
    const bot = sim.admin.createBot();
    const options = { botKey: bot.botId, lockLeaseMs: 120, lockPollMs: 5, logger: quiet };
    const first = await RedisStateStore.open({ redis: connect(), ...options });
    const second = await RedisStateStore.open({ redis: connect(), ...options });
    const events: string[] = [];
    const long = first.exclusive(ALICE, async () => {
      events.push('first starts');
      await new Promise((resolve) => setTimeout(resolve, 600)); // five leases
      events.push('first ends');
    });
    await until(() => events.length === 1);
    await second.exclusive(ALICE, async () => void events.push('second runs'));
    await long;
    expect(events).toEqual(['first starts', 'first ends', 'second runs']);
  });

  test('a lock that ran out mid-send is taken again if nobody took it; if another process did, that is reported', async () => {
    const bot = sim.admin.createBot();
    const warnings: string[] = [];
    const store = await RedisStateStore.open({ redis: connect(), botKey: bot.botId, lockLeaseMs: 100, logger: { ...quiet, warn: (m: string) => void warnings.push(m) } });
    const key = `wechat-ilink:{${bot.botId.replace(/[@.]/g, '-')}}:lock:${ALICE}`;
    const redis = connect();
    await store.exclusive(ALICE, async () => {
      const mine = await redis.get(key);
      await redis.del(key); // ran out while Redis was away
      await until(async () => (await redis.get(key)) === mine, 2_000);
      await redis.set(key, 'another process', 'PX', 60_000);
      await until(() => warnings.length > 0, 2_000);
    });
    expect(warnings).toEqual([expect.stringContaining('another process took the send lock for a user while this process')]);
    expect(await redis.get(key)).toBe('another process'); // not released by the process that lost it
  });
});

test('the bot token is in no key and no value in Redis', async () => {
  const bot = sim.admin.createBot();
  const main = await mainOn(bot);
  const worker = await processOn(bot, { compactEvery: 2 });
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'hi' });
  await until(() => main.received.length === 1);
  await worker.state.refresh();
  await worker.client.reply(main.received[0], 'hello');
  await worker.client.send(ALICE, 'later', { whenClosed: 'queue' });
  await worker.state.refresh();
  const redis = connect();
  const keys = await redis.keys('*');
  expect(keys.length).toBeGreaterThan(2);
  let dump = keys.join('\n');
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') dump += (await redis.get(key)) ?? '';
    if (type === 'stream') dump += JSON.stringify(await redis.xrange(key, '-', '+'));
  }
  expect(dump).toContain(ALICE);
  expect(dump).not.toContain(bot.token);
});

test('an upgrade to Redis starts from the state file: no message is repeated', async () => {
  const bot = sim.admin.createBot();
  const seed = new BotState();
  seed.setCursor('cursor-from-file');
  seed.rememberContextToken(ALICE, 'token-from-file');
  seed.markSeen('42');
  const store = await RedisStateStore.open({ redis: connect(), botKey: bot.botId, seed: () => seed.snapshot() });
  const state = new BotState(store);
  expect(state.cursor).toBe('cursor-from-file');
  expect(state.contextToken(ALICE)).toBe('token-from-file');
  expect(state.hasSeen('42')).toBe(true);
  // Once Redis holds the bot, a seed is ignored.
  const again = await RedisStateStore.open({ redis: connect(), botKey: bot.botId, seed: () => new BotState().snapshot() });
  expect(new BotState(again).cursor).toBe('cursor-from-file');
});
