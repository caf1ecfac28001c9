/**
 * Long answers within the 10-message budget (§10): with longAnswers 'fit' an
 * answer sends what fits, the last message ending with the hint, and the rest
 * waits in the outbox for the user's next message, cut afresh for that budget.
 * The simulator enforces the budget itself (sendsPerInbound, default 10), so a
 * send beyond it would fail there too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ILinkClient } from '../../shared/client';
import { DEFAULT_CONTINUATION_HINT, expandParts, fitToBudget } from '../../shared/long-answer';
import { textItem } from '../../shared/messages';
import type { Message } from '../../shared/model';
import { ReplyWindowError } from '../../shared/reply-window';
import { BotState, FileStateStore } from '../../shared/store';
import { splitFirst, splitText, TEXT_CHUNK_LIMIT } from '../../shared/text';
import { MessageItemType, type MessageItem } from '../../shared/wire';
import { startSimulator, type Simulator } from '../../simulator';
import { rejection } from '../helpers/rejection';
import { until } from '../helpers/until';

const HINT = DEFAULT_CONTINUATION_HINT;
const texts = (items: MessageItem[]) => items.map((item) => item.text_item?.text ?? `<${item.type}>`);
const squeeze = (s: string) => s.replace(/\s+/g, '');
/** `count` Chinese sentences of about 60 characters each: cuts at 4000 would fall inside one unless they look for sentence ends. */
const sentences = (count: number, from = 1) =>
  Array.from({ length: count }, (_, i) => `这是第${from + i}句话，为了测试长回答的切分，它写得比较长一些，内容没有什么特别的意义，只是为了凑够字数而已。`).join('');
const image: MessageItem = { type: MessageItemType.IMAGE, image_item: { media: { encrypt_query_param: 'q', aes_key: 'k', encrypt_type: 1 } } };

describe('fitToBudget', () => {
  it('sends what fits; the last message ends with the hint, cut at a sentence end; the rest keeps every character', () => {
    const answer = sentences(900); // ~13 messages of 4000
    const parts = [textItem(answer)];
    expect(expandParts(parts).length).toBeGreaterThan(10);
    const { now, rest } = fitToBudget(parts, 10, HINT);
    expect(now).toHaveLength(10);
    const sentNow = texts(now);
    expect(sentNow[9].endsWith(`\n${HINT}`)).toBe(true);
    for (const text of sentNow) expect([...text].length).toBeLessThanOrEqual(TEXT_CHUNK_LIMIT);
    // Never inside a sentence: every message (without the hint) ends with 。
    for (const text of sentNow.map((t) => t.replace(`\n${HINT}`, ''))) expect(text.endsWith('。')).toBe(true);
    expect(rest).toHaveLength(1);
    expect(rest[0].text_item?.text?.startsWith('这是第')).toBe(true);
    expect(squeeze(sentNow.join('').replace(HINT, '') + texts(rest).join(''))).toBe(squeeze(answer));
  });

  it('sends everything, with no hint, when it fits; with a budget of 0 everything waits', () => {
    const parts = [textItem('short answer'), image];
    expect(fitToBudget(parts, 2, HINT)).toEqual({ now: parts, rest: [] });
    expect(fitToBudget(parts, 0, HINT)).toEqual({ now: [], rest: parts });
  });

  it('puts the hint alone in the last message when the part there is media, and keeps the media for later', () => {
    const parts = [textItem('one'), image, textItem('two')];
    const { now, rest } = fitToBudget(parts, 2, HINT);
    expect(texts(now)).toEqual(['one', HINT]);
    expect(rest).toEqual([image, textItem('two')]);
  });

  it('cuts the rest afresh: the next budget of 10 gets full messages, not a leftover scrap', () => {
    const parts = [textItem(sentences(1600))]; // ~23 messages
    const first = fitToBudget(parts, 10, HINT);
    const second = fitToBudget(first.rest, 10, HINT);
    expect(second.now).toHaveLength(10);
    // Each message but the one with the hint is nearly full (a sentence is ~60 characters).
    for (const text of texts(second.now).slice(0, 9)) expect([...text].length).toBeGreaterThan(TEXT_CHUNK_LIMIT - 100);
    const third = fitToBudget(second.rest, 10, HINT);
    expect(third.rest).toEqual([]);
    expect(texts(third.now).some((t) => t.includes(HINT))).toBe(false);
  });

  it('loses and doubles nothing for any text and budget (property)', () => {
    const words = fc.array(fc.constantFrom('好。', 'word ', 'end. ', '\n\n', '中文内容', '💬', 'x'.repeat(50)), { maxLength: 400 });
    fc.assert(
      fc.property(words, fc.integer({ min: 0, max: 4 }), (list, budget) => {
        const text = `start ${list.join('')}`;
        const { now, rest } = fitToBudget([textItem(text)], budget, HINT, 300);
        if (now.length > budget) return false;
        const hinted = texts(now).filter((t) => t.endsWith(`\n${HINT}`)).length;
        if (hinted !== (rest.length > 0 && budget > 0 ? 1 : 0)) return false;
        return squeeze(texts(now).join('').replaceAll(HINT, '') + texts(rest).join('')) === squeeze(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the outbox keeps a long answer in its place', () => {
  it('queued again under its ID, an entry replaces the old one where it was, in memory and after a reload', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ilink-outbox-'));
    try {
      const path = join(dir, 'state.json');
      const state = new BotState(new FileStateStore(path));
      state.queue({ id: 'a', to: 'u', items: [textItem('rest 1')], queuedAt: 1, continuationHint: HINT });
      state.queue({ id: 'b', to: 'u', items: [textItem('later')], queuedAt: 2 });
      state.queue({ id: 'a', to: 'u', items: [textItem('rest 2')], queuedAt: 1, continuationHint: HINT });
      const order = (s: BotState) => s.outbox('u').map((e) => `${e.id}:${e.items[0].text_item?.text}`);
      expect(order(state)).toEqual(['a:rest 2', 'b:later']);
      const reloaded = new BotState(new FileStateStore(path));
      expect(order(reloaded)).toEqual(['a:rest 2', 'b:later']);
      expect(reloaded.outbox('u')[0].continuationHint).toBe(HINT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('splitFirst', () => {
  it('gives the first part and the text the next parts come from', () => {
    const text = sentences(200);
    const parts = splitText(text, 1000);
    const { first, rest } = splitFirst(text, 1000);
    expect(first).toBe(parts[0]);
    expect(splitText(rest, 1000)).toEqual(parts.slice(1));
    expect(splitFirst('short', 1000)).toEqual({ first: 'short', rest: '' });
  });

  it('reopens a code block cut in two at the start of the rest', () => {
    const code = Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n');
    const { first, rest } = splitFirst(`\`\`\`ts\n${code}\n\`\`\``, 500);
    expect(first.endsWith('\n```')).toBe(true);
    expect(rest.startsWith('```ts\n')).toBe(true);
  });
});

describe('long answers against the simulator (it enforces 10 messages per user message)', () => {
  let sim: Simulator;
  let dir: string;
  beforeEach(async () => {
    sim = await startSimulator({ longPollTimeoutMs: 300 });
    dir = mkdtempSync(join(tmpdir(), 'ilink-long-'));
  });
  afterEach(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ALICE = 'alice@im.wechat';
  const sentTexts = () => sim.admin.sentMessages({ to: ALICE }).map((s) => s.msg.item_list?.[0]?.text_item?.text ?? '');

  async function listening(bot: { token: string; botId: string }, statePath: string, onMessage: (client: ILinkClient, m: Message) => Promise<void>) {
    const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, state: new FileStateStore(statePath), logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const received: Message[] = [];
    const controller = new AbortController();
    const done = client.listen(
      async (m) => {
        received.push(m);
        await onMessage(client, m);
      },
      { signal: controller.signal },
    );
    const write = async (text: string) => {
      const before = received.length;
      sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text });
      await until(() => received.length > before && client.state.inboxSize === 0);
    };
    return { client, write, stop: () => (controller.abort(), done) };
  }

  it("fit: 10 now (the 10th ends with the hint), the rest after the user's next message, in order, across a restart; all arrive whole", async () => {
    const bot = sim.admin.createBot();
    const answer = sentences(1000); // ~15 messages
    const statePath = join(dir, 'bot.json');
    const first = await listening(bot, statePath, async (client, m) => {
      if (m.text === 'tell me everything') {
        const results = await client.reply(m, answer, { longAnswers: 'fit' });
        expect(results.filter((r) => r.queuedAs)).toHaveLength(expandParts([textItem(answer)]).length - 9);
      }
    });
    await first.write('tell me everything');
    expect(sentTexts()).toHaveLength(10);
    expect(sentTexts()[9].endsWith(`\n${HINT}`)).toBe(true);
    expect(first.client.replyWindow(ALICE)).toMatchObject({ sendsLeft: 0 });
    await first.stop();

    // A restart: the rest is in the state file; the next message brings it, before the handler runs.
    const second = await listening(bot, statePath, async () => undefined);
    await second.write('继续');
    await until(() => second.client.state.outbox(ALICE).length === 0);
    const all = sentTexts();
    expect(all.length).toBeGreaterThan(10);
    expect(all.length).toBeLessThanOrEqual(20);
    expect(all.slice(10).some((t) => t.includes(HINT))).toBe(false);
    expect(squeeze(all.join('').replace(HINT, ''))).toBe(squeeze(answer));
    await second.stop();
  });

  it("'all' (the default) still fails before any request, and a spent budget with 'fit' queues the whole answer", async () => {
    const bot = sim.admin.createBot();
    const answer = sentences(1000);
    let failure: unknown;
    const run = await listening(bot, join(dir, 'bot.json'), async (client, m) => {
      if (m.text !== 'hi') return;
      failure = await rejection(client.reply(m, answer));
      for (let i = 0; i < 10; i++) await client.reply(m, `n${i}`);
      await client.reply(m, 'the whole answer waits', { longAnswers: 'fit' });
    });
    await run.write('hi');
    expect(failure).toBeInstanceOf(ReplyWindowError);
    expect(sentTexts()).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    expect(run.client.state.outbox(ALICE)).toHaveLength(1);
    await run.write('again');
    await until(() => sentTexts().length === 11);
    expect(sentTexts()[10]).toBe('the whole answer waits');
    await run.stop();
  });
});
