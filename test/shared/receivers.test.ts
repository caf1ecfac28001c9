/**
 * The core's ReceiverHub: one poller per bot, many receivers, each with its own
 * filter, against the simulator over real HTTP.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ILinkClient, ReceiverHub, createMessageFilter, type MessageFilterOptions, type MessageReceiver, type Message } from '../../shared';
import { startSimulator, type Simulator } from '../../simulator';
import { until } from '../helpers/until';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300 });
});
/** Closed after each test, also a failing one, so that no poller outlives it. */
const hubs: ReceiverHub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
  await sim.stop();
});

const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function clientFor(bot: { token: string; botId: string }, state: string) {
  return new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl, state, logger: quiet });
}

function hubFor(client: ILinkClient) {
  const hub = new ReceiverHub({ client: () => client, owner: 'receivers test', logger: quiet, onNoClient: () => new Error('no client') });
  hubs.push(hub);
  return { hub };
}

/** A receiver that keeps the texts of the messages its filter passes. */
function collector(filter: MessageFilterOptions = {}, extra: Partial<MessageReceiver> = {}) {
  const accept = createMessageFilter(filter);
  const texts: string[] = [];
  const receiver: MessageReceiver = {
    async handle(message: Message) {
      if (accept(message)) texts.push(message.text);
    },
    onFatal() {},
    ...extra,
  };
  return { receiver, texts };
}

const stateFile = () => join(mkdtempSync(join(tmpdir(), 'ilink-hub-')), 'bot.json');
const starts = (botId: string) => sim.admin.notifications(botId).filter((n) => n.kind === 'start').length;
const stops = (botId: string) => sim.admin.notifications(botId).filter((n) => n.kind === 'stop').length;

test('two receivers with different filters each get their messages from one poller; a message matching none is handled and not delivered again after a restart', async () => {
  const bot = sim.admin.createBot();
  const path = stateFile();
  const client = clientFor(bot, path);
  const { hub } = hubFor(client);
  const orders = collector({ textMatch: { mode: 'contains', pattern: 'order' } });
  const fromBob = collector({ senders: 'list', allowList: [BOB] });
  hub.register(orders.receiver);
  hub.register(fromBob.receiver);
  await until(() => starts(bot.botId) === 1);

  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'an order please' });
  sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'hello' });
  const nobody = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'nobody wants this' });
  await until(() => client.state.isKnown(nobody.messageId) && client.state.inboxSize === 0);
  expect(orders.texts).toEqual(['an order please']);
  expect(fromBob.texts).toEqual(['hello']);
  // One poller for both: one notifystart.
  expect(starts(bot.botId)).toBe(1);

  await hub.deregister(orders.receiver);
  await hub.deregister(fromBob.receiver);
  expect(stops(bot.botId)).toBe(1);

  // A restart on the same state file: the message nobody wanted does not come again.
  const again = collector();
  const next = hubFor(clientFor(bot, path)).hub;
  next.register(again.receiver);
  await until(() => starts(bot.botId) === 2);
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'after restart' });
  await until(() => again.texts.length === 1);
  await new Promise((r) => setTimeout(r, 300));
  expect(again.texts).toEqual(['after restart']);
  await next.close();
});

test('receivers added and removed while polling get the messages of their time; the poller stops with the last one', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot, stateFile());
  const { hub } = hubFor(client);
  const first = collector();
  const second = collector();
  hub.register(first.receiver);
  await until(() => starts(bot.botId) === 1);

  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'one' });
  await until(() => first.texts.length === 1);
  hub.register(second.receiver);
  await new Promise((r) => setImmediate(r));
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'two' });
  await until(() => first.texts.length === 2 && second.texts.length === 1);

  await hub.deregister(first.receiver);
  expect(hub.polling).toBe(true);
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'three' });
  await until(() => second.texts.length === 2);
  expect(first.texts).toEqual(['one', 'two']);
  expect(second.texts).toEqual(['two', 'three']);
  // Same needs: the poller was never restarted.
  expect(starts(bot.botId)).toBe(1);

  await hub.deregister(second.receiver);
  expect(hub.polling).toBe(false);
  expect(stops(bot.botId)).toBe(1);
  const polls = sim.admin.requests({ endpoint: 'getUpdates', botId: bot.botId }).length;
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'nobody listens' });
  await new Promise((r) => setTimeout(r, 500));
  expect(sim.admin.requests({ endpoint: 'getUpdates', botId: bot.botId })).toHaveLength(polls);
  expect(second.texts).toEqual(['two', 'three']);
});

test('a receiver that asks for one message at a time makes the whole bot wait for each handle(); without it, users run side by side', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot, stateFile());
  const { hub } = hubFor(client);
  let running = 0;
  let most = 0;
  const handled: string[] = [];
  const slow = async (message: Message) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 150));
    handled.push(message.text);
    running--;
  };
  const parallel: MessageReceiver = { handle: slow, onFatal() {} };
  hub.register(parallel);
  await until(() => starts(bot.botId) === 1);
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'a1' });
  sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'b1' });
  await until(() => handled.length === 2);
  expect(most).toBe(2);

  // Registering it restarts the poller with one message at a time.
  const oneAtATime: MessageReceiver = { handle: async () => undefined, onFatal() {}, oneAtATime: true };
  hub.register(oneAtATime);
  await until(() => starts(bot.botId) === 2);
  most = 0;
  sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'a2' });
  sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'b2' });
  // A message leaves the inbox just after its handle() returns: wait for that, not only for the handler.
  await until(() => handled.length === 4 && client.state.inboxSize === 0);
  expect(most).toBe(1);
  await hub.close();
});
