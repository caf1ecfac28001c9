/**
 * The terminal login command (bin/ilink-cli.ts), run as users run it: the built
 * dist/bin/ilink-cli.js in a child process, against a recording HTTP server
 * (to prove nothing is sent) or the simulator over 127.0.0.1, with pipes or in
 * a real pseudo-terminal. Flag handling also runs under Node 20, the oldest
 * Node the package supports.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderQrTerminal, type QrTerminalStyle } from '../../shared/qr';
import { node20ForNodeRed4, node24 } from '../harness/node-binaries';
import { useSimulator } from '../simulator/helpers';
import { colourTerminalEnv, killLeftoverClis, runCli, startCli, type CliOptions } from './cli-process';
import { expectedModules, modulesFromText, qrDrawingProblem } from './qr-matrix';

/** A server that records every request and answers 404, standing in for iLink. */
function useRecordingServer(): { url: () => string; requests: string[] } {
  const requests: string[] = [];
  let server: http.Server;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  beforeEach(() => (requests.length = 0));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests };
}

/** The QR drawing: the lines between the start of the output and the "Scan with WeChat" line. */
function drawnQr(stdout: string): { text: string; content: string } {
  const match = /^([\s\S]*?)\n+Scan with WeChat, or open: (\S+)/.exec(stdout);
  if (!match) throw new Error(`no QR code in:\n${stdout}`);
  return { text: match[1].replace(/^\n+/, ''), content: match[2] };
}

afterEach(killLeftoverClis);

/** How long a cancelled login may take to exit; it takes well under half a second. */
const PROMPT_EXIT_MS = 1500;

const NODES: Array<[string, () => string]> = [
  ['Node 24', node24],
  ['Node 20', node20ForNodeRed4],
];

describe.each(NODES)('command line (%s)', (_name, node) => {
  const recorder = useRecordingServer();
  const cli = (...args: string[]) => runCli(args, { node: node() });

  test.each([[['--help']], [['-h']], [['help']], [['login', '--help']], [['login', '-h']]])('%j prints the usage and exits 0 without a request', async (args) => {
    const result = await cli(...args, '--base-url', recorder.url());
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npx n8n-nodes-wechat-ilink login \[flags\]/);
    for (const line of [/--base-url URL .*default https:\/\/ilinkai\.weixin\.qq\.com/, /--route-tag TAG/, /--bot-agent AGENT .*default n8n-nodes-wechat-ilink\//, /--qr MODE .*default auto/, /-h, --help/]) {
      expect(result.stdout).toMatch(line);
    }
    expect(result.stderr).toBe('');
    expect(recorder.requests).toEqual([]);
  });

  test('an unknown flag fails with exit code 2, naming it, and sends nothing', async () => {
    const result = await cli('login', '--frobnicate', '--base-url', recorder.url());
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: "npx n8n-nodes-wechat-ilink: unknown flag '--frobnicate'\nRun 'npx n8n-nodes-wechat-ilink --help' for the commands and flags.\n",
    });
    expect((await cli('login', '--base-ur', recorder.url())).stderr).toContain("unknown flag '--base-ur'; did you mean '--base-url'?");
    expect(recorder.requests).toEqual([]);
  });

  test('a flag without its value fails naming the flag', async () => {
    for (const args of [['login', '--base-url'], ['login', '--base-url', '--qr', 'text']]) {
      const result = await cli(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("flag '--base-url' needs a value, as in --base-url https://ilinkai.weixin.qq.com");
      expect(result.stderr).toContain("Run 'npx n8n-nodes-wechat-ilink --help'");
    }
    const route = await cli('login', '--base-url', recorder.url(), '--route-tag');
    expect(route.code).toBe(2);
    expect(route.stderr).toContain("flag '--route-tag' needs a value");
    expect(recorder.requests).toEqual([]);
  });

  test('a base URL that is not a URL says what a valid one looks like', async () => {
    for (const bad of ['not-a-url', 'ftp://example.com/', 'http://']) {
      const result = await cli('login', '--base-url', bad);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--base-url '${bad}' is not a valid URL: give http(s)://host[:port][/path]`);
    }
  });

  test('a mistyped command is named, with the command it resembles', async () => {
    const result = await cli('lgoin', '--base-url', recorder.url());
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("unknown command 'lgoin'; did you mean 'login'?");
    expect(result.stderr).toContain("Run 'npx n8n-nodes-wechat-ilink --help'");
    expect((await cli('frobnicate')).stderr).toContain("unknown command 'frobnicate'\n");
    expect(recorder.requests).toEqual([]);
  });
});

describe.each(NODES)('login against the simulator (%s)', (_name, node) => {
  const sim = useSimulator({ longPollTimeoutMs: 400 });
  const startLogin = (options: Omit<CliOptions, 'node'> = {}) => startCli(['login', '--base-url', sim().apiBaseUrl], { ...options, node: node() });
  const qrcodeOf = (content: string) => /\/phone\/([0-9a-f]+)$/.exec(content)?.[1] ?? '';

  test('a full login prints a plain QR code that decodes, then the token, once', async () => {
    const run = startLogin();
    await run.waitForOutput(/Scan with WeChat, or open: \S+\n/);
    const { text, content } = drawnQr(run.stdout());
    sim().admin.scanQr(qrcodeOf(content));
    sim().admin.confirmQr(qrcodeOf(content));
    expect((await run.exitWithin(10_000)).code).toBe(0);

    // Piped output gets no colours, and the characters alone form the code with its quiet zone.
    expect(run.stdout()).not.toContain('\x1b[');
    expect(qrDrawingProblem(modulesFromText(text), expectedModules(content))).toBeUndefined();

    const [bot] = sim().admin.bots();
    expect(run.stdout()).toContain(`  Bot token      ${bot.token}\n`);
    expect(run.stdout()).toContain(`  Bot ID         ${bot.botId}\n`);
    expect(run.stdout().split(bot.token).length - 1).toBe(1);
    expect(run.stderr()).toBe('');
  });

  test('SIGINT while waiting for the scan cancels the login: exit 130 at once, a short message, no stack', async () => {
    const run = startLogin();
    await run.waitForOutput(/Scan with WeChat/);
    const sentAt = Date.now();
    run.child.kill('SIGINT');
    const { code, at } = await run.exitWithin(5000);
    expect(code).toBe(130);
    expect(at - sentAt).toBeLessThan(PROMPT_EXIT_MS);
    expect(run.stderr()).toBe('\nLogin cancelled.\n');
  });

  test('input that ends at the number prompt ends the login with exit 1 and says why', async () => {
    sim().admin.setLoginScenario({ verifyCode: true });
    const run = startLogin();
    await run.waitForOutput(/Scan with WeChat, or open: \S+\n/);
    sim().admin.scanQr(qrcodeOf(drawnQr(run.stdout()).content));
    await run.waitForOutput(/Enter the number shown on the phone: /);
    run.child.stdin?.end();
    expect((await run.exitWithin(5000)).code).toBe(1);
    expect(run.stderr()).toBe('\nLogin cancelled: the input ended before the number shown on the phone was entered.\n');
  });

  test('in a colour terminal the QR code has colours and still decodes; one Ctrl-C cancels', async () => {
    const run = startLogin({ terminal: true, env: colourTerminalEnv() });
    await run.waitForOutput(/Scan with WeChat, or open: \S+\n/);
    const { text, content } = drawnQr(run.stdout());
    expect(text).toContain('\x1b[30;47m');
    expect(qrDrawingProblem(modulesFromText(text), expectedModules(content))).toBeUndefined();

    const sentAt = Date.now();
    run.child.stdin?.write('\x03');
    const { code, at } = await run.exitWithin(5000);
    expect(code).toBe(130);
    expect(at - sentAt).toBeLessThan(PROMPT_EXIT_MS);
    expect(run.stdout()).toMatch(/Login cancelled\.\n$/);
    expect(run.stdout()).not.toMatch(/\n\s+at /);
  });

  test('NO_COLOR in a terminal gives the plain QR code; one Ctrl-C at the number prompt cancels', async () => {
    sim().admin.setLoginScenario({ verifyCode: true });
    const run = startLogin({ terminal: true, env: colourTerminalEnv({ NO_COLOR: '1' }) });
    await run.waitForOutput(/Scan with WeChat, or open: \S+\n/);
    const { text, content } = drawnQr(run.stdout());
    expect(text).not.toContain('\x1b[');
    expect(qrDrawingProblem(modulesFromText(text), expectedModules(content))).toBeUndefined();

    // Scanning makes the server ask for the number shown on the phone: the prompt reads the terminal in raw mode.
    sim().admin.scanQr(qrcodeOf(content));
    await run.waitForOutput(/Enter the number shown on the phone: /);
    const sentAt = Date.now();
    run.child.stdin?.write('\x03');
    const { code, at } = await run.exitWithin(5000);
    expect(code).toBe(130);
    expect(at - sentAt).toBeLessThan(PROMPT_EXIT_MS);
    expect(run.stdout()).toMatch(/Login cancelled\.\n$/);
  });
});

describe('renderQrTerminal', () => {
  const content = 'https://liteapp.weixin.qq.com/q/7GiQu1?qrcode=0123456789abcdef0123456789abcdef&bot_type=3';

  test.each<[QrTerminalStyle, boolean]>([
    ['text', false],
    ['color', false],
    ['text-inverse', true],
  ])('style %s draws the code with a 4-module quiet zone', async (style, inverse) => {
    const text = await renderQrTerminal(content, { style });
    expect(qrDrawingProblem(modulesFromText(text, inverse), expectedModules(content))).toBeUndefined();
  });

  test('without a style it draws plain characters, safe for logs and any output', async () => {
    const text = await renderQrTerminal(content);
    expect(text).not.toContain('\x1b[');
    expect(text).toBe(await renderQrTerminal(content, { style: 'text' }));
  });
});
