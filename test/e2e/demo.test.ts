/**
 * The README's main-job command, as a person uses it: start the demo, open the
 * QR link (scan), confirm on the phone page, write "ping" as a user, get "pong".
 * Runs the compiled demo (npm test builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../harness/ports';

const root = join(__dirname, '..', '..');
let demo: ChildProcess | undefined;
let output = '';

afterEach(() => {
  if (demo && demo.exitCode === null) demo.kill('SIGKILL');
});

async function waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = output.match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`demo did not print ${pattern} in time; output so far:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function json(url: string, body?: object): Promise<any> {
  const response = await request(url, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`${url}: HTTP ${response.statusCode} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

test('npm start: log in through the QR page, chat "ping" → "pong", Ctrl-C stops cleanly', async () => {
  const port = await freePort();
  const nodeRedPort = await freePort();
  demo = spawn(process.execPath, [join(root, 'dist/scripts/demo.js')], { env: { ...process.env, ILINK_SIM_PORT: String(port), NODE_RED_PORT: String(nodeRedPort) } });
  demo.stdout?.on('data', (chunk) => (output += chunk));
  demo.stderr?.on('data', (chunk) => (output += chunk));

  const [chatUrl] = await waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/chat/);
  await waitForOutput(/WeChat iLink demo is running/, 60_000);
  const [phoneUrl, qrcode] = await waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/phone\/(\S+)/);
  expect((await request(chatUrl)).statusCode).toBe(200);

  const site = `http://127.0.0.1:${port}`;
  const phone = await request(phoneUrl); // opening the link = scanning the QR code
  expect(phone.statusCode).toBe(200);
  await phone.body.text();
  await json(`${site}/_phone/${qrcode}/confirm`, { userId: 'demo-owner@im.wechat' });
  const [, echoBotId] = await waitForOutput(/Logged in as (\S+@im\.bot)/);

  // The core echo bot, not the Node-RED demo bot the demo also starts.
  const bot = (await json(`${site}/_admin/bots`)).find((b: { botId: string }) => b.botId === echoBotId);
  await json(`${site}/_admin/messages`, { botId: bot.botId, from: 'alice@im.wechat', text: 'ping' });
  const sent = await json(`${site}/_admin/sent/wait`, { botId: bot.botId, to: 'alice@im.wechat', textIncludes: 'pong', timeoutMs: 10_000 });
  expect(sent.msg.item_list[0].text_item.text).toBe('pong');
  expect(output).not.toContain(bot.token);

  const exited = new Promise<number | null>((resolve) => demo?.once('exit', (code) => resolve(code)));
  const stoppedAt = Date.now();
  demo.kill('SIGINT');
  expect(await exited).toBe(0);
  // Node-RED stops (its group is signalled) before the demo exits.
  expect(Date.now() - stoppedAt).toBeLessThan(10_000);
});
