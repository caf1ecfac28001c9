/**
 * The client side of the message-path benchmark, run as a child process of
 * bench/run.ts so every client gets its own event loop (as Node-RED does) and
 * the simulator in the parent is measured the same way for all of them.
 *
 *   node dist/bench/echo-client.js <mode> <apiBaseUrl> <token>
 *
 * Modes:
 *   drain  bare undici getupdates loop, no replies (the simulator ceiling)
 *   bare   bare undici getupdates loop + one sendmessage echo per message
 *   core   ILinkClient.createPoller + client.reply echo
 *
 * IPC: sends {type:'ready'} once polling, {type:'progress', received} after
 * each getupdates batch (drain/bare); exits on {type:'stop'} or when the
 * parent goes away.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { ILinkClient } from '../shared/client';

type Mode = 'drain' | 'bare' | 'core';

interface WireMsg {
  from_user_id?: string;
  context_token?: string;
  item_list?: Array<{ type?: number; text_item?: { text?: string } }>;
}

function send(message: object): void {
  if (process.send) process.send(message);
}

/** A minimal strict-valid iLink client written against undici directly (the baseline). */
async function bareLoop(apiBase: string, token: string, echo: boolean, signal: AbortSignal): Promise<void> {
  const dispatcher = new Agent({ keepAliveTimeout: 60_000, connections: 8 });
  const base = apiBase.endsWith('/') ? apiBase : `${apiBase}/`;
  const headers = (): Record<string, string> => ({
    'Content-Type': 'application/json',
    AuthorizationType: 'ilink_bot_token',
    Authorization: `Bearer ${token}`,
    'iLink-App-Id': 'bot',
    'iLink-App-ClientVersion': String((0 << 16) | (1 << 8) | 0),
    'X-WECHAT-UIN': Buffer.from(String(randomBytes(4).readUInt32BE(0)), 'ascii').toString('base64'),
  });
  const baseInfo = { channel_version: '0.1.0' };
  const post = async (path: string, body: object): Promise<Record<string, unknown>> => {
    const res = await request(base + path, { method: 'POST', headers: headers(), body: JSON.stringify({ ...body, base_info: baseInfo }), signal, dispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if ((parsed.ret !== undefined && parsed.ret !== 0) || (parsed.errcode !== undefined && parsed.errcode !== 0)) {
      throw new Error(`${path}: ${text.slice(0, 200)}`);
    }
    return parsed;
  };
  let cursor = '';
  let received = 0;
  let counter = 0;
  send({ type: 'ready' });
  while (!signal.aborted) {
    let answer: Record<string, unknown>;
    try {
      answer = await post('ilink/bot/getupdates', { get_updates_buf: cursor });
    } catch (error) {
      if (signal.aborted) break;
      throw error;
    }
    const msgs = Array.isArray(answer.msgs) ? (answer.msgs as WireMsg[]) : [];
    if (echo) {
      for (const m of msgs) {
        const text = m.item_list?.find((i) => i.type === 1)?.text_item?.text;
        if (!text || !m.from_user_id) continue;
        await post('ilink/bot/sendmessage', {
          msg: {
            from_user_id: '',
            to_user_id: m.from_user_id,
            client_id: `bench-bare-${process.pid}-${++counter}`,
            message_type: 2,
            message_state: 2,
            item_list: [{ type: 1, text_item: { text } }],
            context_token: m.context_token,
          },
        });
      }
    }
    received += msgs.length;
    if (typeof answer.get_updates_buf === 'string' && answer.get_updates_buf) cursor = answer.get_updates_buf;
    if (msgs.length > 0) send({ type: 'progress', received });
  }
  await dispatcher.close().catch(() => undefined);
}

async function coreLoop(apiBase: string, token: string, signal: AbortSignal): Promise<void> {
  const client = new ILinkClient({ baseUrl: apiBase, token, botId: 'bench-core' });
  let ready = false;
  const poller = client.createPoller(
    async (message) => {
      if (message.text) await client.reply(message, message.text);
    },
    {
      owner: 'bench',
      onStatus: (status) => {
        if (status === 'polling' && !ready) {
          ready = true;
          send({ type: 'ready' });
        }
      },
      onError: (error) => process.stderr.write(`core poller: ${error.message}\n`),
    },
  );
  signal.addEventListener('abort', () => void poller.stop(), { once: true });
  await poller.start();
}

async function main(): Promise<void> {
  const [mode, apiBase, token] = process.argv.slice(2) as [Mode, string, string];
  if (!['drain', 'bare', 'core'].includes(mode) || !apiBase || !token) {
    throw new Error('usage: echo-client.js drain|bare|core <apiBaseUrl> <token>');
  }
  if (!/^http:\/\/127\.0\.0\.1[:/]/.test(apiBase)) throw new Error('the benchmark only talks to 127.0.0.1');
  const abort = new AbortController();
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') abort.abort();
  });
  process.on('disconnect', () => abort.abort());
  if (mode === 'core') await coreLoop(apiBase, token, abort.signal);
  else await bareLoop(apiBase, token, mode === 'bare', abort.signal);
  process.disconnect?.();
}

main().catch((error: unknown) => {
  process.stderr.write(`echo-client: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
