/**
 * The sending nodes (wechat send, media, typing, recall) as 10-mqtt.js's out
 * nodes: they show the bot's connection state (connected, connecting, not
 * logged in, session expired), and closing one (a redeploy of that node)
 * cancels what it still has in flight: close returns at once, the request is
 * cut, Catch nodes see nothing, a warning says what was not done.
 * Real Node-RED, the simulator over HTTP.
 */
import * as diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { helper } from '../harness/node-red-test-helper';
import { collect, eventually, node, recordStatuses } from './flow-util';
import { useSimulator } from './sim-fixture';
import { useHelper } from './use-helper';
import { loadBotFlow } from './load-bot-flow';

const SENDERS = ['send', 'media', 'typing', 'recall'] as const;
const USER = 'alice@im.wechat';

/** Warnings a node logged (node.warn) since the flow was loaded. */
function warningsOf(id: string): string[] {
  const spy = (helper as unknown as { log(): { args: Array<[{ level: number; id?: string; msg?: unknown }]>; WARN: number } }).log();
  return spy.args.map(([entry]) => entry).filter((entry) => entry.level === spy.WARN && entry.id === id).map((entry) => String(entry.msg));
}

/** Node-RED closes a node it redeploys with node.close(removed); it resolves once the node called done(). */
async function redeploy(id: string): Promise<number> {
  const started = Date.now();
  await (node(id) as unknown as { close(removed: boolean): Promise<void> }).close(true);
  return Date.now() - started;
}

describe('sending nodes: connection status and close', () => {
  useHelper('node-red-sender-nodes');
  const simulator = useSimulator();

  async function load(options: { token?: boolean; receiver?: boolean } = {}) {
    const { sim, bot } = await loadBotFlow(simulator(), [
      ...(options.receiver === false ? [] : [{ id: 'in', type: 'ilink-in', bot: 'bot', wires: [['inOut']] }]),
      { id: 'inOut', type: 'helper' },
      { id: 'send', type: 'ilink-send', bot: 'bot', wires: [] },
      { id: 'media', type: 'ilink-media', bot: 'bot', operation: 'download', wires: [['mediaOut']] },
      { id: 'mediaOut', type: 'helper' },
      { id: 'typing', type: 'ilink-typing', bot: 'bot', action: 'stop', wires: [[]] },
      { id: 'recall', type: 'ilink-recall', bot: 'bot', wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ], { token: options.token !== false });
    const statuses = Object.fromEntries(SENDERS.map((id) => [id, recordStatuses(id)]));
    const last = (id: string) => statuses[id]!.at(-1)?.text;
    const allShow = (shown: string) => SENDERS.every((id) => last(id) === `ilink-${id}.status.${shown}`);
    const inbound = collect('inOut');
    return { sim, bot, statuses, last, allShow, inbound, caught: collect('caught'), mediaOut: collect('mediaOut') };
  }

  it('not logged in: every sender is red "not logged in" from the deploy on', async () => {
    const flow = await load({ token: false, receiver: false });
    await eventually('not logged in', () => flow.allShow('not-logged-in'));
    expect(flow.statuses.send!.at(-1)).toMatchObject({ fill: 'red', shape: 'ring' });
  });

  it('session expired and a new login: every sender follows the bot (connecting, connected, session expired, connecting, connected)', async () => {
    const flow = await load();
    const receiving = recordStatuses('in');
    await eventually('wechat in polling', () => receiving.at(-1)?.text === 'ilink-in.status.polling');
    // Logged in (nothing receives yet), then the poller of wechat in connects.
    expect(flow.statuses.media!.map((s) => s.text)).toEqual(['ilink-media.status.connected', 'ilink-media.status.connecting', 'ilink-media.status.connected']);
    expect(flow.allShow('connected')).toBe(true);
    expect(flow.statuses.send!.at(-1)).toMatchObject({ fill: 'green', shape: 'dot' });

    flow.sim.admin.expireSession(flow.bot.botId);
    await eventually('session expired on every sender', () => flow.allShow('session-expired'), 8_000);
    expect(flow.statuses.recall!.at(-1)).toMatchObject({ fill: 'red', shape: 'ring' });

    // The editor's "Log in with WeChat", the simulator playing the phone.
    const request = (helper as any).request();
    await request.post('/ilink-config/bot/login').send({ baseUrl: flow.sim.apiBaseUrl });
    const before = flow.statuses.typing!.length;
    flow.sim.admin.confirmQr(flow.sim.admin.lastQrcode()!);
    await eventually('connected after the login', () => flow.allShow('connected'), 10_000);
    expect(flow.statuses.typing!.slice(before).map((s) => s.text)).toEqual(['ilink-typing.status.connecting', 'ilink-typing.status.connected']);
  });

  it('without a receiving node, a request that meets an expired session turns every sender red', async () => {
    const flow = await load({ receiver: false });
    await eventually('connected', () => flow.allShow('connected'));
    flow.sim.admin.expireSession(flow.bot.botId);
    node('recall').receive({ payload: '12345' });
    await eventually('caught', () => flow.caught.length === 1);
    expect(flow.caught[0]!.error.message).toMatch(/session/i);
    await eventually('session expired on every sender', () => flow.allShow('session-expired'));
  });

  it('a redeploy during a slow wechat media download: close returns at once, the CDN sees the connection cut, no Catch, a warning', async () => {
    const flow = await load();
    const file = await flow.sim.cdn.encryptAndStore(Buffer.alloc(50_000, 1), { kind: 'file', fileName: 'big.bin' });
    flow.sim.admin.injectMessage({ botId: flow.bot.botId, from: USER, items: [file] });
    await eventually('the msg from wechat in', () => flow.inbound.length === 1);
    // The CDN's side of the download, to see whether the body was sent whole or the connection was cut.
    let download: { res: ServerResponse; closedAt?: number } | undefined;
    const onRequest = (message: unknown) => {
      const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
      if (!request.url?.includes('/c2c/download')) return;
      const seen: { res: ServerResponse; closedAt?: number } = { res: response };
      response.on('close', () => (seen.closedAt = Date.now()));
      download = seen;
    };
    diagnostics.subscribe('http.server.request.start', onRequest);
    try {
      // 49 chunks of 1 KiB, 100 ms apart: about 5 s for the whole body.
      flow.sim.admin.cdnFault({ op: 'download', kind: 'slowBody', delayMs: 100 });
      node('media').receive({ ilink: flow.inbound[0]!.ilink });
      await eventually('the download under way', () => download !== undefined && download.res.headersSent);
      await new Promise((resolve) => setTimeout(resolve, 200));

      const took = await redeploy('media');
      expect(took).toBeLessThan(500);
      await eventually('the CDN connection closed', () => download!.closedAt !== undefined, 2_000);
      expect(download!.res.writableFinished).toBe(false); // cut, not sent whole
      await eventually('the warning', () => warningsOf('media').length === 1, 2_000);
      expect(warningsOf('media')[0]).toBe('closed (redeploy or stop) while downloading media: that was cancelled and is not retried');
      expect(flow.caught).toEqual([]);
      expect(flow.mediaOut).toEqual([]);
      // A late status would land on the node that replaced this one.
      expect(flow.last('media')).toBe('ilink-media.status.downloading');
    } finally {
      diagnostics.unsubscribe('http.server.request.start', onRequest);
    }
  });

  it('a redeploy while a send waits out "rate limited": close returns at once, the wait is cancelled, no Catch, a warning', async () => {
    const flow = await load();
    flow.sim.admin.injectMessage({ botId: flow.bot.botId, from: USER, text: 'hi' });
    await eventually('the msg from wechat in', () => flow.inbound.length === 1);
    flow.sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'rate-limited', count: 1 });
    node('send').receive({ ...flow.inbound[0]!, payload: 'answer' });
    // The first attempt was refused; the core now waits 2 s before the next.
    await eventually('the refused attempt', () => flow.sim.admin.requests({ endpoint: 'sendMessage' }).length === 1 && flow.sim.admin.pendingFaults().length === 0);

    const took = await redeploy('send');
    expect(took).toBeLessThan(500);
    // The warning comes from the send's promise: it settles only because the 2 s wait was aborted.
    await eventually('the warning', () => warningsOf('send').length === 1, 1_000);
    expect(warningsOf('send')[0]).toBe(`closed (redeploy or stop) while sending to ${USER}: that was cancelled and is not retried`);
    expect(flow.caught).toEqual([]);
    expect(flow.sim.admin.sentMessages({ botId: flow.bot.botId })).toEqual([]);
  });
});
