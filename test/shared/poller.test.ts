import { ManualClock } from '../../shared/clock';
import { SessionExpiredError } from '../../shared/errors';
import type { Message } from '../../shared/model';
import { Poller, type PollerOptions } from '../../shared/poller';
import { BotState, MemoryStateStore } from '../../shared/store';
import { Transport } from '../../shared/transport';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
  server.fallback = { body: { ret: 0, msgs: [], get_updates_buf: '' }, delayMs: 20 };
});
afterEach(() => server.close());

const wireMsg = (id: string, from = 'u1@im.wechat', text = `hi ${id}`) => ({
  message_id: id,
  from_user_id: from,
  to_user_id: 'bot@im.bot',
  message_type: 1,
  context_token: `ctx-${id}`,
  item_list: [{ type: 1, text_item: { text } }],
});
const updates = (cursor: string, ...msgs: object[]) => ({ body: `{"ret":0,"get_updates_buf":"${cursor}","msgs":${JSON.stringify(msgs)}}` });
const pollRequests = () => server.requests.filter((r) => r.url.endsWith('/getupdates'));

function makePoller(extra: Partial<PollerOptions> = {}, state = new BotState()) {
  const received: Message[] = [];
  const clock = new ManualClock();
  const poller = new Poller({
    transport: new Transport({ baseUrl: server.url, token: 'token-abcdef' }),
    state,
    clock,
    handler: (m) => void received.push(m),
    ...extra,
  });
  return { poller, received, clock, state };
}

async function until(check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('notifystart before the first poll, notifystop after stop; stop aborts the in-flight poll at once', async () => {
  server.fallback = { body: { ret: 0, msgs: [] }, delayMs: 10_000 };
  server.answer({ body: { ret: 0 } }); // notifystart
  const { poller } = makePoller();
  const run = poller.start();
  await until(() => pollRequests().length === 1);
  const started = Date.now();
  server.answer({ body: { ret: 0 } }); // notifystop
  await poller.stop();
  await run;
  expect(Date.now() - started).toBeLessThan(1000);
  const paths = server.requests.map((r) => r.url);
  expect(paths[0]).toBe('/ilink/bot/msg/notifystart');
  expect(paths[1]).toBe('/ilink/bot/getupdates');
  expect(paths[paths.length - 1]).toBe('/ilink/bot/msg/notifystop');
  expect(poller.status).toBe('stopped');
});

test('delivers messages in order, adopts the cursor and the server long-poll timeout, records context tokens', async () => {
  server.answer({ body: { ret: 0 } }, { body: `{"ret":0,"get_updates_buf":"c1","longpolling_timeout_ms":1234,"msgs":[${JSON.stringify(wireMsg('9007199254740993')).replace('"9007199254740993"', '9007199254740993')},${JSON.stringify(wireMsg('2', 'u2@im.wechat'))}]}` });
  const { poller, received, state } = makePoller();
  const run = poller.start();
  await until(() => received.length === 2 && pollRequests().length >= 2);
  expect(received.map((m) => m.messageId)).toEqual(['9007199254740993', '2']);
  expect(received[0].text).toBe('hi 9007199254740993');
  expect(state.cursor).toBe('c1');
  expect(JSON.parse(pollRequests()[1].body).get_updates_buf).toBe('c1');
  expect(poller.currentTimeoutMs).toBe(1234);
  expect(state.contextToken('u2@im.wechat')).toBe('ctx-2');
  await poller.stop();
  await run;
});

test('a handler error never drops the rest of the batch', async () => {
  server.answer({ body: { ret: 0 } }, updates('c1', wireMsg('1'), wireMsg('2'), wireMsg('3')));
  const errors: string[] = [];
  const seen: string[] = [];
  const { poller, state } = makePoller({
    handler: (m) => {
      seen.push(m.messageId);
      if (m.messageId === '2') throw new Error('boom');
    },
    onError: (e, info) => errors.push(`${info.source}:${info.message?.messageId}:${e.message}`),
  });
  const run = poller.start();
  await until(() => seen.length === 3);
  expect(errors).toEqual(['handler:2:boom']);
  await until(() => state.cursor === 'c1');
  expect(state.hasSeen('2')).toBe(true);
  await poller.stop();
  await run;
});

// A host stops its poller on redeploy, possibly while a handler is still busy with one message of a batch.
// Depends on the server NOT replaying: the scripted server answers the second poller with nothing.
test('stop() in the middle of a batch: the answer is in the inbox with its cursor; the next poller hands out only what is left', async () => {
  const batch = updates('c1', wireMsg('1'), wireMsg('2'), wireMsg('3'));
  server.answer({ body: { ret: 0 } }, batch);
  const state = new BotState();
  const seen: string[] = [];
  let finish!: () => void;
  const first = makePoller(
    {
      handler: async (m) => {
        seen.push(m.messageId);
        if (m.messageId === '1') await new Promise<void>((r) => (finish = r));
      },
    },
    state,
  );
  const run = first.poller.start();
  await until(() => seen.length === 1);
  // Saved before the first message was handed over: the whole batch and the cursor.
  expect(state.cursor).toBe('c1');
  expect(state.inboxEntries().map((e) => e.key)).toEqual(['1', '2', '3']);
  const stopped = first.poller.stop();
  finish(); // message 1 completes after stop(), within the grace: it was handled
  await stopped;
  await run;
  expect(seen).toEqual(['1']);
  expect(state.hasSeen('1')).toBe(true);
  expect(state.inboxEntries().map((e) => e.key)).toEqual(['2', '3']);

  const second = makePoller({}, state);
  const run2 = second.poller.start();
  await until(() => second.received.length === 2);
  expect(second.received.map((m) => m.messageId)).toEqual(['2', '3']);
  await until(() => state.inboxSize === 0);
  await second.poller.stop();
  await run2;
  // The cursor sent by the second poller is the saved one.
  expect(pollRequests().slice(1).every((r) => JSON.parse(r.body).get_updates_buf === 'c1')).toBe(true);
});

test('a handler that fails because the poller is stopping has not handled its message: it stays in the inbox', async () => {
  server.answer({ body: { ret: 0 } }, updates('c1', wireMsg('1'), wireMsg('2')));
  const state = new BotState();
  const seen: string[] = [];
  const errors: Error[] = [];
  let signalSeen: AbortSignal | undefined;
  const first = makePoller(
    {
      handler: async (m, _wire, { signal }) => {
        seen.push(m.messageId);
        signalSeen = signal;
        if (m.messageId === '1') await new Promise<void>((_r, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled: the node is closing'))));
      },
      onError: (e) => errors.push(e),
    },
    state,
  );
  const run = first.poller.start();
  await until(() => seen.length === 1);
  await first.poller.stop();
  await run;
  expect(signalSeen?.aborted).toBe(true);
  expect(seen).toEqual(['1']);
  expect(state.hasSeen('1')).toBe(false);
  expect(state.inboxEntries().map((e) => e.key)).toEqual(['1', '2']);
  expect(errors).toEqual([]); // not reported as a handler failure
});

test('backoff: 2 s after a failure, 30 s after the third in a row, counter reset after that (§5.4)', async () => {
  server.answer({ body: { ret: 0 } }, { status: 500, body: 'x' }, { body: { ret: 1, errmsg: 'busy' } }, { body: '{bad json' }, { status: 503, body: 'x' });
  const retryDelays: number[] = [];
  const { poller, clock } = makePoller({ onError: (_e, info) => retryDelays.push(info.retryInMs ?? -1) });
  const run = poller.start();
  for (const expected of [2000, 2000, 30000, 2000]) {
    expect(await clock.waitForSleep(1)).toEqual([expected]);
    clock.advance(expected);
  }
  expect(retryDelays).toEqual([2000, 2000, 30000, 2000]);
  await poller.stop();
  await run;
});

test('a client-side timeout is an empty success: no failure, immediate re-poll with the same cursor (§5.3)', async () => {
  server.fallback = { body: { ret: 0, msgs: [] }, delayMs: 5_000 };
  server.answer({ body: { ret: 0 } }); // notifystart
  const errors: Error[] = [];
  const state = new BotState(new MemoryStateStore({ version: 1, cursor: 'keep', contextTokens: {}, seenMessageIds: [] }));
  const { poller } = makePoller({ timings: { initialTimeoutMs: 60 }, onError: (e) => errors.push(e) }, state);
  const run = poller.start();
  await until(() => pollRequests().length >= 3, 4000);
  expect(errors).toEqual([]);
  expect(pollRequests().every((r) => JSON.parse(r.body).get_updates_buf === 'keep')).toBe(true);
  await poller.stop();
  await run;
});

test("-14 with the 'stop' policy ends start() with SessionExpiredError", async () => {
  server.answer({ body: { ret: 0 } }, { body: { errcode: -14, errmsg: 'session timeout' } });
  const statuses: string[] = [];
  const { poller } = makePoller({ onStatus: (s) => statuses.push(s) });
  await expect(poller.start()).rejects.toBeInstanceOf(SessionExpiredError);
  expect(statuses).toContain('session-expired');
  expect(poller.status).toBe('session-expired');
});

test("-14 with the 'pause' policy sleeps an hour, then resumes with the same cursor (§5.4)", async () => {
  const state = new BotState(new MemoryStateStore({ version: 1, cursor: 'c9', contextTokens: {}, seenMessageIds: [] }));
  server.answer({ body: { ret: 0 } }, { body: { ret: -14 } }, updates('c10', wireMsg('5')));
  const statuses: string[] = [];
  const { poller, clock, received } = makePoller({ onSessionExpired: 'pause', onStatus: (s) => statuses.push(s) }, state);
  const run = poller.start();
  expect(await clock.waitForSleep(1)).toEqual([3_600_000]);
  expect(statuses).toContain('paused');
  clock.advance(3_599_999);
  expect(clock.pendingSleeps).toEqual([3_600_000]);
  clock.advance(1);
  await until(() => received.length === 1);
  const polls = pollRequests();
  expect(JSON.parse(polls[1].body).get_updates_buf).toBe('c9');
  await poller.stop();
  await run;
});

test('a poller is single-use', async () => {
  const { poller } = makePoller();
  const run = poller.start();
  expect(() => poller.start()).toThrow(/already started/);
  await poller.stop();
  await run;
});
