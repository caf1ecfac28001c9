/**
 * The core end to end against the simulator over real HTTP: login, receive,
 * reply, typing, media, recall, expiry, restart. Also runs under Node 20.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { ILinkClient } from '../../shared/client';
import { BotState, FileStateStore } from '../../shared/store';
import { ContextTokenError, NoContextTokenError, SessionExpiredError } from '../../shared/errors';
import { LoginSession } from '../../shared/login';
import type { Message } from '../../shared/model';
import { PollerConflictError } from '../../shared/poll-registry';
import { startSimulator, type Simulator } from '../../simulator';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300, qrExpireMs: 60_000 });
});
afterEach(() => sim.stop());

const USER = 'alice@im.wechat';

function clientFor(bot: { token: string; botId: string; ownerUserId: string }, state?: string) {
  return new ILinkClient({ token: bot.token, botId: bot.botId, ownerUserId: bot.ownerUserId, baseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl, state });
}

/** Starts a poller, collects messages, and returns controls. */
function listenTo(client: ILinkClient, onMessage: (m: Message) => unknown = () => undefined) {
  const received: Message[] = [];
  const poller = client.createPoller(async (m) => {
    received.push(m);
    await onMessage(m);
  });
  const done = poller.start();
  return { poller, received, done };
}

async function until(check: () => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('QR login on the simulator, then an echo round trip with the inbound context token and a uint64 message ID', async () => {
  const login = await LoginSession.start({ baseUrl: sim.apiBaseUrl });
  const scanned = new Promise<void>((resolve) => login.once('scanned', () => resolve()));
  const waiting = login.wait();
  const phone = await request(login.qr.content); // opening the QR's URL = scanning it
  expect(phone.statusCode).toBe(200);
  await phone.body.text();
  await scanned;
  sim.admin.confirmQr(login.qr.qrcode, 'owner@im.wechat');
  const result = await waiting;
  if (result.kind !== 'confirmed') throw new Error('expected confirmed');
  expect(result.userId).toBe('owner@im.wechat');
  expect(result.botId).toMatch(/@im\.bot$/);

  const client = ILinkClient.fromLogin(result, { cdnBaseUrl: sim.cdnBaseUrl });
  const { poller, done } = listenTo(client, (m) => client.reply(m, `echo: ${m.text}`));
  const injected = sim.admin.injectMessage({ botId: result.botId, from: USER, text: 'hello' });
  const sent = await sim.admin.waitForSent((r) => r.to === USER, 5000);
  expect(sent.msg.item_list?.[0].text_item?.text).toBe('echo: hello');
  expect(sent.msg.context_token).toBe(injected.contextToken);
  expect(BigInt(injected.messageId)).toBeGreaterThan(2n ** 53n);
  await poller.stop();
  await done;
  const kinds = sim.admin.notifications(result.botId).map((n: any) => n.kind ?? n.endpoint ?? n.type);
  expect(kinds.length).toBe(2); // notifystart and notifystop
});

test('the handler sees the uint64 message ID exactly, and proactive sends reuse the stored context token', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  const { poller, received, done } = listenTo(client);
  const injected = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
  await until(() => received.length === 1);
  expect(received[0].messageId).toBe(injected.messageId);
  await poller.stop();
  await done;
  const [result] = await client.send(USER, 'later, unprompted');
  const record = await sim.admin.waitForSent((r) => r.messageId === result.messageId);
  expect(record.msg.context_token).toBe(injected.contextToken);
});

test('a user who never wrote cannot be messaged: clear error, nothing sent', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  await expect(client.send('stranger@im.wechat', 'hi')).rejects.toBeInstanceOf(NoContextTokenError);
  expect(sim.admin.sentMessages({ botId: bot.botId })).toHaveLength(0);
});

test('an expired context token surfaces as ContextTokenError (-2)', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  const injected = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
  sim.admin.expireContextToken(bot.botId, USER);
  await expect(client.send(USER, 'too late', { contextToken: injected.contextToken })).rejects.toBeInstanceOf(ContextTokenError);
});

test('session expiry (-14) ends listen() with SessionExpiredError and blocks sends until polling works again', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  const { done } = listenTo(client);
  await until(() => sim.admin.requests({ endpoint: 'getUpdates' } as any).length > 0);
  sim.admin.expireSession(bot.botId);
  await expect(done).rejects.toBeInstanceOf(SessionExpiredError);
  const error = await client.send(USER, 'x', { contextToken: 'whatever' }).catch((e) => e);
  expect(error).toBeInstanceOf(SessionExpiredError);
  expect(error.message).toMatch(/scan the QR code again/);
});

test('every request the core sent passed the strict simulator and carried the §1 headers', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  const { poller, done } = listenTo(client, (m) => client.withTyping(m.from, () => client.reply(m, 'ok')));
  sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'x' });
  await sim.admin.waitForSent((r) => r.to === USER);
  await poller.stop();
  await done;
  const requests = sim.admin.requests({ botId: bot.botId } as any);
  expect(requests.length).toBeGreaterThanOrEqual(5);
  for (const r of requests as any[]) {
    expect(r.headers['ilink-app-id']).toBe('bot');
    expect(r.headers['authorization']).toBe(`Bearer ${bot.token}`);
    expect(r.body.base_info.bot_agent).toMatch(/^n8n-nodes-wechat-ilink\//);
  }
});

test('typing shows on the simulator while work runs and clears after', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'x' });
  const { poller, received, done } = listenTo(client);
  await until(() => received.length === 1);
  let seenTyping = false;
  await client.withTyping(USER, async () => {
    await until(() => sim.admin.typingState(bot.botId, USER).typing);
    seenTyping = true;
  });
  expect(seenTyping).toBe(true);
  expect(sim.admin.typingState(bot.botId, USER).typing).toBe(false);
  await poller.stop();
  await done;
});

test('media: an image from the user downloads byte-exact; a file from the bot arrives decryptable (caption first)', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(5000, 7)]);
  const imageItem = await sim.cdn.encryptAndStore(png, { kind: 'image' });
  sim.admin.injectMessage({ botId: bot.botId, from: USER, items: [imageItem] });
  const { poller, received, done } = listenTo(client);
  await until(() => received.length === 1);
  await poller.stop();
  await done;
  const downloaded = await client.downloadMedia(received[0]);
  expect(downloaded.data.equals(png)).toBe(true);
  expect(downloaded.mimeType).toBe('image/png');

  const report = Buffer.from('季度报告 quarterly report\n'.repeat(100));
  const results = await client.replyMedia(received[0], report, { fileName: 'report.txt', caption: 'here it is' });
  expect(results).toHaveLength(2);
  const sent = sim.admin.sentMessages({ botId: bot.botId });
  expect(sent.map((r) => r.msg.item_list?.[0].type)).toEqual([1, 4]);
  const file = sent[1].msg.item_list?.[0].file_item;
  expect(file?.file_name).toBe('report.txt');
  expect(file?.len).toBe(String(report.length));
  const plain = sim.cdn.decryptStored(file!.media!.encrypt_query_param!, file!.media!.aes_key!);
  expect(plain?.equals(report)).toBe(true);
});

test('recall (experimental) marks the sent message recalled on the simulator', async () => {
  const bot = sim.admin.createBot();
  const client = clientFor(bot);
  sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'x' });
  const { poller, received, done } = listenTo(client);
  await until(() => received.length === 1);
  await poller.stop();
  await done;
  const [sent] = await client.reply(received[0], 'oops');
  await client.recall(sent.messageId);
  expect(sim.admin.sentMessages({ botId: bot.botId })[0].recalled).toBe(true);
  await expect(client.recall('123')).rejects.toThrow(/experimental/);
});

test('restart with the file store: no message is handled twice, none is lost', async () => {
  const bot = sim.admin.createBot();
  const stateFile = join(mkdtempSync(join(tmpdir(), 'ilink-e2e-')), 'bot.json');
  for (const text of ['m1', 'm2', 'm3']) sim.admin.injectMessage({ botId: bot.botId, from: USER, text });

  const first = listenTo(clientFor(bot, stateFile));
  await until(() => first.received.length === 3);
  await first.poller.stop();
  await first.done;

  // Worst case: the process died after handing the batch over but before the cursor reached the server.
  new BotState(new FileStateStore(stateFile)).setCursor('');
  sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'm4' });

  const second = listenTo(clientFor(bot, stateFile));
  await until(() => second.received.length >= 1);
  await new Promise((r) => setTimeout(r, 400)); // one more long-poll round for any late duplicate
  await second.poller.stop();
  await second.done;
  expect(first.received.map((m) => m.text)).toEqual(['m1', 'm2', 'm3']);
  expect(second.received.map((m) => m.text)).toEqual(['m4']);
});

test('a second poller on the same bot is refused with a clear message; the first keeps working', async () => {
  const bot = sim.admin.createBot();
  const a = listenTo(clientFor(bot));
  const b = clientFor(bot).createPoller(() => undefined, { owner: 'flow 2' });
  expect(() => b.start()).toThrow(PollerConflictError);
  sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'still here' });
  await until(() => a.received.length === 1);
  await a.poller.stop();
  await a.done;
  // After the first stops, the bot is free again.
  const c = listenTo(clientFor(bot));
  await c.poller.stop();
  await c.done;
});
