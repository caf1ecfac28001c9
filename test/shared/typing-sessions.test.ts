/**
 * Per-user typing sessions (shared/typing.ts TypingSessions): start in one
 * call, stop in another, kept alive every 5 s, one keepalive per user, ended
 * by their timeout. Against the simulator, on a manual clock (no real waits).
 */
import { ManualClock } from '../../shared/clock';
import { ILinkClient } from '../../shared/client';
import { TypingSessions } from '../../shared/typing';
import { startSimulator, type Simulator } from '../../simulator';
import { until } from '../helpers/until';

const USER = 'alice@im.wechat';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300, typingDisplayMs: 60_000 });
});
afterAll(() => sim.stop());

function setup() {
  const bot = sim.admin.createBot();
  const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
  const clock = new ManualClock();
  const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, clock });
  const sessions = new TypingSessions(client.typing, { clock, contextTokenOf: (user) => (user === USER ? contextToken : undefined) });
  const statuses = () =>
    sim.admin
      .requests({ endpoint: 'sendTyping', botId: bot.botId })
      .map((r) => (r.body as { status: number }).status);
  const typing = () => sim.admin.typingState(bot.botId, USER);
  return { bot, clock, sessions, statuses, typing, contextToken };
}

test('start shows typing (with the user\'s context token for the ticket), kept alive every 5 s; stop turns it off', async () => {
  const { bot, clock, sessions, statuses, typing, contextToken } = setup();
  sessions.start(USER);
  await until(() => statuses().length === 1);
  const getConfig = sim.admin.requests({ endpoint: 'getConfig', botId: bot.botId });
  expect(getConfig.map((r) => (r.body as { context_token?: string }).context_token)).toEqual([contextToken]);
  await clock.waitForSleep(1);
  clock.advance(5_000);
  await until(() => statuses().length === 2);
  expect(typing().typing).toBe(true);
  expect(await sessions.stop(USER)).toBe(true);
  expect(statuses()).toEqual([1, 1, 2]);
  expect(typing().typing).toBe(false);
  expect(await sessions.stop(USER)).toBe(false);
});

test('a session ends by itself at its timeout; a new start for the same user moves the timeout and keeps one keepalive', async () => {
  const { clock, sessions, statuses, typing } = setup();
  sessions.start(USER, { timeoutMs: 8_000 });
  await until(() => statuses().length === 1);
  await clock.waitForSleep(2); // the keepalive's 5 s and the 8 s timeout
  clock.advance(4_000);
  sessions.start(USER, { timeoutMs: 8_000 }); // now ends at 12 s, not 8 s
  expect(statuses()).toEqual([1]); // no second "typing" request
  clock.advance(1_000); // 5 s: keepalive
  await until(() => statuses().length === 2);
  await clock.waitForSleep(2);
  clock.advance(4_000); // 9 s: past the first timeout, still typing
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(statuses()).toEqual([1, 1]);
  expect(typing().typing).toBe(true);
  clock.advance(1_000); // 10 s: keepalive
  await until(() => statuses().length === 3);
  await clock.waitForSleep(2);
  clock.advance(2_000); // 12 s: the moved timeout
  await until(() => statuses().length === 4);
  expect(statuses()).toEqual([1, 1, 1, 2]);
  expect(typing().typing).toBe(false);
  expect(await sessions.stop(USER)).toBe(false);
});

test('a stop whose signal has aborted ends the keepalive without the "off" request (a closing host does not wait for it)', async () => {
  const { clock, sessions, statuses } = setup();
  sessions.start(USER);
  await until(() => statuses().length === 1);
  await clock.waitForSleep(1);
  const closing = new AbortController();
  closing.abort();
  expect(await sessions.stop(USER, { signal: closing.signal })).toBe(true);
  clock.advance(60_000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(statuses()).toEqual([1]);
  expect(clock.pendingSleeps).toEqual([]);
});

test('stopAll turns every user\'s typing off', async () => {
  const { bot, sessions, statuses } = setup();
  const other = 'bob@im.wechat';
  sim.admin.injectMessage({ botId: bot.botId, from: other, text: 'hi' });
  sessions.start(USER);
  sessions.start(other);
  await until(() => statuses().length === 2);
  await sessions.stopAll();
  expect(statuses().sort()).toEqual([1, 1, 2, 2]);
  expect(sim.admin.typingState(bot.botId, other).typing).toBe(false);
});

test("a message sent to the user ends their typing, whichever client of the bot's state started it and whichever sends", async () => {
  const { bot, clock, statuses, typing } = setup();
  const trigger = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, clock });
  // An n8n action node: another client on the same bot state.
  const action = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, clock, state: trigger.state });
  const stranger = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, clock });
  trigger.state.noteUserMessage(USER, sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'again' }).contextToken, clock.now());
  // Its own user message, so that its send spends another budget than the trigger's state counts.
  stranger.state.noteUserMessage(USER, sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'other' }).contextToken, clock.now());
  trigger.typingSessions.start(USER, { timeoutMs: 120_000 });
  await until(() => statuses().length === 1);
  // A client on another state (another bot's store) leaves it on.
  await stranger.send(USER, 'not the same bot state');
  expect(trigger.typingSessions.has(USER)).toBe(true);
  await action.send(USER, 'the answer');
  await until(() => !trigger.typingSessions.has(USER) && statuses().length === 2);
  expect(statuses()).toEqual([1, 2]);
  expect(typing().typing).toBe(false);
  // Once the budget is spent, a queued send (nothing went out) does not end it.
  trigger.typingSessions.start(USER, { timeoutMs: 120_000 });
  await until(() => statuses().length === 3);
  for (let i = 0; i < 9; i++) await action.send(USER, `n${i}`);
  await until(() => !trigger.typingSessions.has(USER));
  trigger.typingSessions.start(USER, { timeoutMs: 120_000 });
  await until(() => trigger.typingSessions.has(USER) && statuses().length === 5);
  await action.send(USER, 'waits for their next message', { whenClosed: 'queue' });
  expect(trigger.typingSessions.has(USER)).toBe(true);
  await trigger.typingSessions.stop(USER);
});
