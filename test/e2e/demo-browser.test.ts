/**
 * `npm start` as a newcomer sees it, in headless Chromium: the compiled demo
 * (simulator + Node-RED with the demo bot flow, no n8n) starts as a child
 * process; on the chat page we pick the Node-RED demo bot, write "ping" and
 * get "pong" (with "typing…" first), send a PNG and get its size, type and the
 * image back, send a file and get its MD5, ask for "help" and get a long
 * answer in two messages. Ctrl-C then stops everything: Node-RED's port
 * closes and the demo's temp folder is gone. Screenshots go to
 * .test-output/screenshots/ (demo-chat.png is the README's picture).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../harness/chromium';
import { projectRoot } from '../harness/output';
import { freePorts } from '../harness/ports';
import { makePng } from '../simulator/png';

jest.setTimeout(120_000);

const BOT = 'demo-node-red@im.bot';
let demo: ChildProcess | undefined;
let browser: TestBrowser | undefined;
let output = '';

afterAll(async () => {
  await browser?.close();
  // The demo leads its own process group; on a failed test, end it and its hosts.
  if (demo?.pid && demo.exitCode === null) {
    try {
      process.kill(-demo.pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  }
});

async function waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = output.match(pattern);
    if (match) return match;
    if (demo?.exitCode !== null) throw new Error(`the demo exited (${demo?.exitCode}); output:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the demo did not print ${pattern} in time; output so far:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The texts of the bot's text messages, in order (a text item is a <span> without a class; the meta line has one). */
const BOT_TEXT = '#messages li.out .bubble span:not([class])';

async function botTexts(page: Page): Promise<string[]> {
  return page.locator(BOT_TEXT).allTextContents();
}

async function waitForBotText(page: Page, pattern: RegExp): Promise<void> {
  await page.locator(BOT_TEXT, { hasText: pattern }).first().waitFor({ timeout: 20_000 });
}

async function isPortOpen(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

test('npm start: chat with the Node-RED demo bot in a browser (ping, photo, file, help), then Ctrl-C', async () => {
  const [simPort, nodeRedPort] = await freePorts(2);
  demo = spawn(process.execPath, [path.join(projectRoot, 'dist/scripts/demo.js')], {
    cwd: projectRoot,
    env: { ...process.env, ILINK_SIM_PORT: String(simPort), NODE_RED_PORT: String(nodeRedPort) },
    detached: true,
  });
  demo.stdout?.on('data', (chunk) => (output += chunk));
  demo.stderr?.on('data', (chunk) => (output += chunk));

  await waitForOutput(/WeChat iLink demo is running\./);
  const [, chatUrl] = await waitForOutput(/Chat page[^:]*:\s+(http:\/\/127\.0\.0\.1:\d+\/chat)/);
  await waitForOutput(new RegExp(`Node-RED editor[^:]*:\\s+http://127\\.0\\.0\\.1:${nodeRedPort}`));
  const [, workDir] = await waitForOutput(/Host logs: (\S+)/);
  expect((await fetch(`http://127.0.0.1:${nodeRedPort}/flows`)).ok).toBe(true);

  browser = await launchBrowser({ name: 'demo-browser' });
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(chatUrl!);
  await page.locator(`#bot-select option[value="${BOT}"]`).waitFor({ state: 'attached' });
  await page.locator('#bot-select').selectOption(BOT);
  await page.locator('#new-user').fill('alice');
  await page.locator('#add-user button').click();
  await page.locator('#conversation-title').filter({ hasText: 'alice@im.wechat' }).waitFor();

  // ping → typing… (the flow "thinks" for a second) → pong
  await page.locator('#text').fill('ping');
  await page.locator('#text').press('Enter');
  await page.locator('#typing').waitFor({ state: 'visible', timeout: 10_000 });
  await browser.screenshot(page, 'demo-typing');
  await waitForBotText(page, /^\s*pong\s*$/);

  // A photo: its type, size and dimensions, then the same picture back.
  const photo = makePng(160, 100, 200);
  await page.locator('#image-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: photo });
  await waitForBotText(page, new RegExp(`image/png, ${photo.length} bytes, 160×100`));
  await page.waitForFunction(
    `(() => { const img = document.querySelector('#messages li.out img.thumb'); return !!img && img.complete && img.naturalWidth === 160; })()`,
    undefined,
    { timeout: 20_000 },
  );

  // A file: its name and MD5.
  const notes = Buffer.from('会议纪要 meeting notes\n'.repeat(20));
  await page.locator('#file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: notes });
  await waitForBotText(page, new RegExp(`MD5: ${createHash('md5').update(notes).digest('hex')}`));

  // help: a long Markdown answer, filtered (no "#####", no images) and split in two.
  const before = (await botTexts(page)).length;
  await page.locator('#text').fill('help');
  await page.locator('#text').press('Enter');
  await waitForBotText(page, /结束/);
  const helpTexts = (await botTexts(page)).slice(before);
  expect(helpTexts.length).toBe(2);
  expect(helpTexts.join('')).not.toMatch(/#####|!\[diagram\]/);

  // The screenshot for the README: the conversation from ping to the photo.
  await page.locator('#messages li.out img.thumb').first().scrollIntoViewIfNeeded();
  await browser.screenshot(page, 'demo-chat');
  expect(pageErrors).toEqual([]);

  // The token is in no output and no host log.
  const bots = (await (await fetch(`http://127.0.0.1:${simPort}/_admin/bots`)).json()) as Array<{ botId: string; token: string }>;
  const token = bots.find((bot) => bot.botId === BOT)!.token;
  expect(output).not.toContain(token);
  for (const file of fs.readdirSync(workDir!).filter((name) => name.endsWith('.log'))) {
    expect(fs.readFileSync(path.join(workDir!, file), 'utf8')).not.toContain(token);
  }

  // Ctrl-C (the terminal signals the demo's group): clean exit, Node-RED gone, temp folder removed.
  const exited = new Promise<number | null>((resolve) => demo!.once('exit', (code) => resolve(code)));
  process.kill(-demo.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  expect(await isPortOpen(nodeRedPort!)).toBe(false);
  expect(await isPortOpen(simPort!)).toBe(false);
  expect(fs.existsSync(workDir!)).toBe(false);
});
