/**
 * The README's main-job command, as a person uses it: start the demo, open the
 * QR link (scan), confirm on the phone page, write "ping" as a user, get "pong".
 * With n8n (`npm run demo:n8n`): the credential's Test button passes and the
 * n8n bot answers "ping" with "pong".
 * Runs the compiled demo (npm test builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort, freePorts } from '../harness/ports';

const root = join(__dirname, '..', '..');
let demo: ChildProcess | undefined;
let output = '';

afterEach(async () => {
  if (!demo || demo.exitCode !== null) return;
  // Ctrl-C first: the hosts lead their own process groups, only the demo stops them.
  const exited = new Promise((resolve) => demo?.once('exit', resolve));
  demo.kill('SIGINT');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (demo.exitCode === null) demo.kill('SIGKILL');
});

async function waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = output.match(pattern);
    if (match) return match;
    if (demo?.exitCode !== null) throw new Error(`the demo exited (${demo?.exitCode}); output:\n${output}`);
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

beforeEach(() => {
  output = '';
});

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

/** The editor's own API, logged in as the owner the demo prints (n8n ties the cookie to a browser id). */
function n8nEditor(baseUrl: string) {
  const browserId = randomUUID();
  let cookie = '';
  return async (method: string, restPath: string, body?: object): Promise<any> => {
    const response = await fetch(`${baseUrl}/rest${restPath}`, {
      method,
      headers: { 'content-type': 'application/json', 'browser-id': browserId, ...(cookie ? { cookie } : {}) },
      body: body && JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
    if (setCookie) cookie = setCookie.split(';')[0];
    const text = await response.text();
    if (!response.ok) throw new Error(`n8n ${method} /rest${restPath}: HTTP ${response.status} ${text}`);
    return JSON.parse(text).data;
  };
}

test('npm run demo:n8n: the credential Test button passes, the n8n bot answers "ping" with "pong"', async () => {
  const [port, nodeRedPort, n8nPort, brokerPort] = await freePorts(4);
  demo = spawn(process.execPath, [join(root, 'dist/scripts/demo.js'), '--with-n8n'], {
    env: { ...process.env, ILINK_SIM_PORT: String(port), NODE_RED_PORT: String(nodeRedPort), N8N_PORT: String(n8nPort), N8N_RUNNERS_BROKER_PORT: String(brokerPort) },
  });
  demo.stdout?.on('data', (chunk) => (output += chunk));
  demo.stderr?.on('data', (chunk) => (output += chunk));
  await waitForOutput(/WeChat iLink demo is running/, 170_000);
  const [, n8nUrl, email, password] = await waitForOutput(/n8n editor \(the bot's workflow\): +(http:\/\/127\.0\.0\.1:\d+)\/workflow\/\S+ +\(log in as (\S+) \/ (\S+)\)/);

  const site = `http://127.0.0.1:${port}`;
  const bot = (await json(`${site}/_admin/bots`)).find((b: { botId: string }) => b.botId === 'demo-n8n@im.bot');
  const rest = n8nEditor(n8nUrl);
  await rest('POST', '/login', { emailOrLdapLoginId: email, password });

  // As the editor's Test button does: the stored credential as the editor holds it (secrets
  // redacted), sent back with its id; n8n fills in the stored token and runs the nodes' testedBy.
  const [listed] = (await rest('GET', '/credentials')).filter((c: { type: string }) => c.type === 'wechatIlinkApi');
  const shown = await rest('GET', `/credentials/${listed.id}?includeData=true`);
  expect(JSON.stringify(shown)).not.toContain(bot.token);
  const answer = await rest('POST', '/credentials/test', { credentials: { id: shown.id, name: shown.name, type: shown.type, data: shown.data } });
  expect(answer).toEqual({ status: 'OK', message: 'Connected: the bot token works.' });

  await json(`${site}/_admin/messages`, { botId: bot.botId, from: 'bob@im.wechat', text: 'ping' });
  const sent = await json(`${site}/_admin/sent/wait`, { botId: bot.botId, to: 'bob@im.wechat', textIncludes: 'pong', timeoutMs: 20_000 });
  expect(sent.msg.item_list[0].text_item.text).toBe('pong');
  expect(output).not.toContain(bot.token);

  const exited = new Promise<number | null>((resolve) => demo?.once('exit', (code) => resolve(code)));
  demo.kill('SIGINT');
  expect(await exited).toBe(0);
}, 240_000);
