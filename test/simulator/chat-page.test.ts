/**
 * The chat page in headless Chromium with media: a person creates a bot,
 * adds a user, writes, uploads an image, sends the voice sample; the bot
 * (the client core) receives them byte-exact and replies with an image and a
 * file, which the page shows. Screenshots go to .test-output/screenshots/.
 */
import * as fs from 'node:fs';
import type { Page } from 'playwright-core';
import { ILinkClient } from '../../shared/client';
import type { Message } from '../../shared/model';
import { startSimulator, type Simulator } from '../../simulator';
import { launchBrowser, type TestBrowser } from '../harness/chromium';
import { callApi, textMessage } from './helpers';
import { makePng } from './png';

jest.setTimeout(60_000);

const USER = 'alice@im.wechat';

let sim: Simulator;
let browser: TestBrowser;
beforeAll(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 400 });
  browser = await launchBrowser({ name: 'chat-page' });
});
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Creates a test bot with the page's button and reads its token off the page. */
async function createBotOnPage(page: Page): Promise<{ botId: string; token: string }> {
  await page.locator('#create-bot').click();
  await page.locator('#new-bot-token').filter({ hasText: /\S/ }).waitFor();
  const botId = (await page.locator('#new-bot-id').textContent()) ?? '';
  const token = (await page.locator('#new-bot-token').textContent()) ?? '';
  await page.locator('#chat').waitFor({ state: 'visible' });
  await page.locator('#bot-select').filter({ has: page.locator(`option[value="${botId}"]`) }).waitFor();
  return { botId, token };
}

async function addUser(page: Page, name: string): Promise<void> {
  await page.locator('#new-user').fill(name);
  await page.locator('#add-user button').click();
  await page.locator('#conversation-title').filter({ hasText: `${name}@im.wechat` }).waitFor();
}

/** The bits of HTMLImageElement / HTMLAudioElement used in page callbacks (no DOM lib in the test tsconfig). */
interface ImageLike {
  naturalWidth: number;
  naturalHeight: number;
}
interface AudioLike {
  duration: number;
  preload: string;
  error: { code: number } | null;
  load(): void;
  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void;
}

/** Waits until an <img> in a bubble of that direction has decoded (naturalWidth > 0); returns its natural size. */
async function loadedImage(page: Page, direction: 'in' | 'out'): Promise<{ width: number; height: number }> {
  const selector = `#messages li.${direction} img.thumb`;
  // A string expression: the test's tsconfig has no DOM types.
  await page.waitForFunction(`(() => { const img = document.querySelector(${JSON.stringify(selector)}); return !!img && img.complete && img.naturalWidth > 0; })()`);
  return page.locator(selector).first().evaluate((img: ImageLike) => ({ width: img.naturalWidth, height: img.naturalHeight }));
}

test('chat page: text, image upload, bot image and file replies, voice sample', async () => {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(sim.chatUrl);

  const bot = await createBotOnPage(page);
  await addUser(page, 'alice');

  const client = new ILinkClient({ token: bot.token, baseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl, botId: bot.botId });
  const received: Message[] = [];
  const pollErrors: string[] = [];
  const poller = client.createPoller(
    async (message) => {
      received.push(message);
    },
    { onError: (error, info) => void pollErrors.push(`${info.source}: ${error.message}`) },
  );
  const polling = poller.start();
  try {
    // Text as the user.
    await page.locator('#text').fill('你好 bot');
    await page.locator('#text').press('Enter');
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ from: USER, text: '你好 bot' });

    // An image through the file input: shown inline, and byte-exact at the bot.
    const photo = makePng(120, 80, 30);
    await page.locator('#image-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: photo });
    expect(await loadedImage(page, 'in')).toEqual({ width: 120, height: 80 });
    await until(() => received.length === 2);
    expect(received[1]!.items[0]?.type).toBe('image');
    expect((await client.downloadMedia(received[1]!)).data.equals(photo)).toBe(true);

    // The bot replies with an image and a file.
    const chart = makePng(64, 96, 150);
    const notes = Buffer.from('会议纪要 meeting notes\n'.repeat(40));
    await client.sendMedia(USER, chart, { fileName: 'chart.png' });
    await client.sendMedia(USER, notes, { fileName: '说明 notes.txt' });
    expect(await loadedImage(page, 'out')).toEqual({ width: 64, height: 96 });
    const fileLink = page.locator('#messages li.out .file-card a', { hasText: '说明 notes.txt' });
    await fileLink.waitFor();
    expect(await fileLink.getAttribute('download')).toBe('说明 notes.txt');
    await expect(page.locator('#messages li.out .file-size').first().textContent()).resolves.toContain('KB');
    const href = (await fileLink.getAttribute('href')) ?? '';
    const fetched = await page.evaluate(async (url) => {
      const response = await fetch(url);
      return { type: response.headers.get('content-type'), text: await response.text() };
    }, href);
    expect(fetched).toEqual({ type: 'text/plain', text: notes.toString() });

    // A video from the bot gets a <video> element and a download link (the bytes here are not a real movie).
    await client.sendMedia(USER, Buffer.concat([Buffer.from('0000001866747970', 'hex'), Buffer.alloc(2000, 1)]), { fileName: 'clip.mp4' });
    await page.locator('#messages li.out video').waitFor({ state: 'attached' });
    await page.locator('#messages li.out .video-box a.download', { hasText: 'Download video' }).waitFor();

    // The voice sample: reaches the bot as SILK → WAV, and the page's <audio> can play it.
    await page.locator('#voice-sample').click();
    await until(() => received.length === 3).catch(async (error: Error) => {
      throw new Error(`${error.message}: the bot received ${received.length} message(s) (${received.map((m) => m.items[0]?.type).join(', ')}); the page's status line says ${JSON.stringify(await page.locator('#media-status').textContent())}; poller errors ${JSON.stringify(pollErrors)}`);
    });
    const voice = await client.downloadMedia(received[2]!);
    expect(voice.mimeType).toBe('audio/wav');
    expect(voice.durationMs).toBeGreaterThan(1000);
    const audio = page.locator('#messages li.in audio');
    await audio.waitFor();
    const seconds = await audio.evaluate(
      (element: AudioLike) =>
        new Promise<number>((resolve, reject) => {
          element.addEventListener('loadedmetadata', () => resolve(element.duration), { once: true });
          element.addEventListener('error', () => reject(new Error(`audio error ${element.error?.code}`)), { once: true });
          element.preload = 'metadata';
          element.load();
        }),
    );
    expect(seconds).toBeGreaterThan(1);
    await expect(page.locator('#messages li.in .voice-label').textContent()).resolves.toMatch(/语音 \/ voice 1\.\d″/);

    await page.locator('#messages li').last().scrollIntoViewIfNeeded();
    const shot = await browser.screenshot(page, 'chat-page-media');
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  } finally {
    await poller.stop();
    await polling;
  }
});

test('chat page: a refused upload shows the server\'s error instead of a message', async () => {
  const page = await browser.newPage();
  const bot = sim.admin.createBot();
  await page.goto(sim.chatUrl);
  await page.locator('#bot-select').selectOption(bot.botId);
  await addUser(page, 'bob');
  // The server refuses an empty file; the page shows its message.
  await page.locator('#file-input').setInputFiles({ name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) });
  await page.locator('#media-status.error').filter({ hasText: 'empty' }).waitFor();
  expect(sim.admin.timeline(bot.botId).filter((entry) => entry.userId === 'bob@im.wechat')).toHaveLength(0);
  await browser.screenshot(page, 'chat-page-upload-error');
});

test('chat page: ID-only quotes show the quoted entry; the quote action sends one', async () => {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const bot = sim.admin.createBot();
  const from = 'carol@im.wechat';
  const first = sim.admin.injectMessage({ botId: bot.botId, from, text: '原来的话 original' });
  sim.admin.injectMessage({ botId: bot.botId, from, text: 'about that', quote: { messageId: first.messageId } });
  sim.admin.injectMessage({ botId: bot.botId, from, text: 'and this', refMsg: { svr_id: '123', message_item: { type: 0 } } });
  await page.goto(sim.chatUrl);
  await page.locator('#bot-select').selectOption(bot.botId);
  await page.locator('#user-list li', { hasText: from }).click();
  // Found in the timeline by svr_id, or shown by its ID.
  await page.locator('#messages .quote', { hasText: '引用 / quote: 原来的话 original' }).waitFor();
  await page.locator('#messages .quote', { hasText: '引用 / quote #123' }).waitFor();

  await page.locator(`#messages li[data-message-id="${first.messageId}"] .quote-action`).click();
  await page.locator('#quoting', { hasText: '原来的话 original' }).waitFor();
  await page.locator('#text').fill('quoted from the page');
  await page.locator('#text').press('Enter');
  await page.locator('#quoting').waitFor({ state: 'hidden' });
  const sent = sim.admin.timeline(bot.botId).find((entry) => entry.items[0]?.text_item?.text === 'quoted from the page');
  expect(sent?.items[0]?.ref_msg).toMatchObject({ svr_id: first.messageId, message_item: { type: 0 } });
  await page.locator('#messages .quote', { hasText: '引用 / quote: 原来的话 original' }).nth(1).waitFor();
  await browser.screenshot(page, 'chat-page-quotes');
  expect(pageErrors).toEqual([]);
});

test('chat page: each user shows the reply window countdown and the budget left, live (§10)', async () => {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const bot = sim.admin.createBot();
  const from = 'dave@im.wechat';
  const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from, text: '在吗 there?' });
  await page.goto(sim.chatUrl);
  await page.locator('#bot-select').selectOption(bot.botId);
  const label = page.locator(`#user-list li[data-user="${from}"] .window`);
  await label.filter({ hasText: /^回复窗口 23:59:\d\d · 剩余 10\/10 条 \/ reply window 23:59:\d\d · 10\/10 left$/ }).waitFor();
  // The owner never wrote: no window.
  await page.locator(`#user-list li[data-user="${bot.ownerUserId}"] .window`, { hasText: '无回复窗口' }).waitFor();

  // Two sends from the bot: the budget goes down over the event stream; the countdown ticks on the page.
  for (const text of ['one', 'two']) {
    expect((await callApi(sim, 'sendMessage', textMessage(from, contextToken, text), { token: bot.token })).json?.ret).toBe(0);
  }
  await label.filter({ hasText: '剩余 8/10 条' }).waitFor();
  const before = await label.textContent();
  await page.waitForFunction(
    `document.querySelector(${JSON.stringify(`#user-list li[data-user="${from}"] .window`)}).textContent !== ${JSON.stringify(before)}`,
  );

  // The simulator clock moves: 1 h later the page says so; after 24 h the window is closed; a new message reopens it with 10.
  sim.admin.advanceClock(60 * 60 * 1000);
  await label.filter({ hasText: /^回复窗口 22:5\d:\d\d · 剩余 8\/10 条/ }).waitFor();
  await page.locator(`#user-list li[data-user="${from}"]`).click();
  await page.locator('#window-status', { hasText: '剩余 8/10 条' }).waitFor();
  await browser.screenshot(page, 'chat-page-reply-window');
  sim.admin.advanceClock(23 * 60 * 60 * 1000);
  await label.filter({ hasText: '回复窗口已关闭 / reply window closed' }).waitFor();
  await page.locator('#text').fill('我回来了 back');
  await page.locator('#text').press('Enter');
  await label.filter({ hasText: /^回复窗口 23:59:\d\d · 剩余 10\/10 条/ }).waitFor();
  expect(pageErrors).toEqual([]);
});
