import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BotState, DEFAULT_DEDUPE_WINDOW, FileStateStore, MAX_CONTEXT_TOKENS, MemoryStateStore, ObjectStateStore, safeAccountId } from '../../shared/store';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'ilink-store-')), 'nested', 'bot.json');

describe('BotState', () => {
  test('persists cursor, context tokens and seen IDs through a file, across instances', () => {
    const path = tempFile();
    const a = new BotState(new FileStateStore(path));
    a.setCursor('cur-1');
    a.rememberContextToken('u1@im.wechat', 'ctx-1');
    a.markSeen('9007199254740993');
    const b = new BotState(new FileStateStore(path));
    expect(b.cursor).toBe('cur-1');
    expect(b.contextToken('u1@im.wechat')).toBe('ctx-1');
    expect(b.hasSeen('9007199254740993')).toBe(true);
    expect(b.hasSeen('1')).toBe(false);
  });

  test('the journal and the snapshot are private to the user (0600)', () => {
    const path = tempFile();
    const store = new FileStateStore(path);
    new BotState(store).setCursor('x');
    expect(statSync(store.journalPath).mode & 0o777).toBe(0o600);
    store.compact();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('the dedupe window forgets the oldest IDs beyond its size', () => {
    const state = new BotState(new MemoryStateStore(), 3);
    for (const id of ['1', '2', '3', '4']) state.markSeen(id);
    expect(state.hasSeen('1')).toBe(false);
    expect(['2', '3', '4'].every((id) => state.hasSeen(id))).toBe(true);
    expect(state.snapshot().seenMessageIds).toEqual(['2', '3', '4']);
  });

  test('an empty message ID is never treated as seen', () => {
    const state = new BotState();
    state.markSeen('');
    expect(state.hasSeen('')).toBe(false);
  });

  test('batch() records once, in order', () => {
    const calls: unknown[][] = [];
    const store = new MemoryStateStore();
    const counting = { load: () => store.load(), record: (changes: readonly unknown[]) => (calls.push([...changes]), store.record(changes as any)) };
    const state = new BotState(counting);
    state.batch(() => {
      state.rememberContextToken('u', 't');
      state.markSeen('1');
      state.setCursor('c');
    });
    expect(calls).toEqual([[{ token: ['u', 't'] }, { seen: '1' }, { cursor: 'c' }]]);
    expect(store.load()).toMatchObject({ cursor: 'c', contextTokens: { u: 't' }, seenMessageIds: ['1'] });
  });

  test('a token noted without flush is recorded with the next change', () => {
    const calls: unknown[][] = [];
    const store = new MemoryStateStore();
    const state = new BotState({ load: () => store.load(), record: (changes) => (calls.push([...changes]), store.record(changes)) });
    state.rememberContextToken('u', 't', { flush: false });
    expect(state.contextToken('u')).toBe('t');
    expect(calls).toEqual([]);
    state.markSeen('9');
    expect(calls).toEqual([[{ token: ['u', 't'] }, { seen: '9' }]]);
  });

  test('a damaged state file starts fresh instead of crashing', () => {
    const path = tempFile();
    const store = new FileStateStore(path);
    new BotState(store).setCursor('x');
    store.compact();
    writeFileSync(path, '{not json');
    expect(new BotState(new FileStateStore(path)).cursor).toBe('');
  });

  test('malformed parts of a snapshot are dropped, good parts kept', () => {
    const target: Record<string, unknown> = { ilinkState: { cursor: 5, contextTokens: { a: 't', b: 7 }, seenMessageIds: ['1', 2, ''] } };
    const state = new BotState(new ObjectStateStore(target));
    expect(state.cursor).toBe('');
    expect(state.contextToken('a')).toBe('t');
    expect(state.contextToken('b')).toBeUndefined();
    expect(state.snapshot().seenMessageIds).toEqual(['1']);
    state.setCursor('next');
    expect((target.ilinkState as any).cursor).toBe('next');
  });

  test('the latest context token per user wins; forget removes it', () => {
    const path = tempFile();
    const state = new BotState(new FileStateStore(path));
    state.rememberContextToken('u', 'old');
    state.rememberContextToken('u', 'new');
    expect(new BotState(new FileStateStore(path)).contextToken('u')).toBe('new');
    state.forgetContextToken('u');
    expect(new BotState(new FileStateStore(path)).contextToken('u')).toBeUndefined();
  });
});

test('safeAccountId turns a bot ID into a file name like the official client', () => {
  expect(safeAccountId('abc@im.bot')).toBe('abc-im-bot');
  expect(safeAccountId('../x/y')).toBe('--_x_y');
});

describe('FileStateStore journal', () => {
  test('one small journal line per change; the snapshot is rewritten only every compactEvery changes', () => {
    const path = tempFile();
    const store = new FileStateStore(path, 5);
    const state = new BotState(store);
    for (const id of ['1', '2', '3', '4']) state.markSeen(id);
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(store.journalPath, 'utf8').trim().split('\n')).toHaveLength(4);
    state.markSeen('5');
    expect(existsSync(store.journalPath)).toBe(false);
    expect(JSON.parse(readFileSync(path, 'utf8')).seenMessageIds).toEqual(['1', '2', '3', '4', '5']);
    state.setCursor('after');
    const reloaded = new BotState(new FileStateStore(path, 5));
    expect(reloaded.cursor).toBe('after');
    expect(reloaded.hasSeen('5')).toBe(true);
  });

  test('a line torn by a crash mid-write is ignored; the lines before it count', () => {
    const path = tempFile();
    const store = new FileStateStore(path);
    const state = new BotState(store);
    state.markSeen('1');
    state.setCursor('c1');
    appendFileSync(store.journalPath, '{"n":3,"seen":"2');
    const reloaded = new BotState(new FileStateStore(path));
    expect(reloaded.cursor).toBe('c1');
    expect(reloaded.hasSeen('1')).toBe(true);
    expect(reloaded.hasSeen('2')).toBe(false);
  });

  test('journal lines the snapshot already holds are skipped (crash between snapshot and journal removal)', () => {
    const path = tempFile();
    const store = new FileStateStore(path);
    const state = new BotState(store);
    state.rememberContextToken('u', 'old');
    const journal = readFileSync(store.journalPath, 'utf8');
    state.rememberContextToken('u', 'new');
    store.compact();
    writeFileSync(store.journalPath, journal); // the stale journal survived
    expect(new BotState(new FileStateStore(path)).contextToken('u')).toBe('new');
  });

  test('numbering continues across restarts so later lines are never mistaken for old ones', () => {
    const path = tempFile();
    const first = new FileStateStore(path);
    new BotState(first).setCursor('a');
    first.compact();
    const second = new FileStateStore(path);
    new BotState(second).setCursor('b');
    expect(new BotState(new FileStateStore(path)).cursor).toBe('b');
  });
});

describe('caps on the per-user and per-token records (applied when the whole state is rewritten or loaded)', () => {
  it('a file store rewritten after many users and replies keeps at most MAX_CONTEXT_TOKENS of each, the newest, and the dedupe window', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ilink-caps-'));
    const store = new FileStateStore(join(dir, 'bot.json'), 1000);
    const state = new BotState(store);
    const total = MAX_CONTEXT_TOKENS + 300;
    for (let i = 0; i < total; i++) {
      state.noteUserMessage(`u${i}@im.wechat`, `tok-${i}`, 1_000 + i);
      state.noteSent(`tok-${i}`, 1);
      state.markSeen(`m${i}`);
    }
    store.compact();
    const saved = JSON.parse(readFileSync(join(dir, 'bot.json'), 'utf8'));
    expect(Object.keys(saved.contextTokens)).toHaveLength(MAX_CONTEXT_TOKENS);
    expect(Object.keys(saved.windows)).toHaveLength(MAX_CONTEXT_TOKENS);
    expect(Object.keys(saved.budgets)).toHaveLength(MAX_CONTEXT_TOKENS);
    expect(saved.budgets[`tok-${total - 1}`]).toEqual({ sends: 1 });
    expect(saved.budgets['tok-0']).toBeUndefined();
    expect(saved.seenMessageIds).toHaveLength(DEFAULT_DEDUPE_WINDOW);
    // The in-memory view applies the same caps at once.
    expect(state.budget('tok-0')).toBeUndefined();
    expect(state.budget(`tok-${total - 1}`)).toEqual({ sends: 1 });
    expect(state.hasSeen(`m${total - 1}`)).toBe(true);
    expect(state.hasSeen('m0')).toBe(false);
    // And a restart loads the capped state.
    const reloaded = new BotState(new FileStateStore(join(dir, 'bot.json')));
    expect(reloaded.windowRecord(`u${total - 1}@im.wechat`)).toEqual({ lastInboundAt: 1_000 + total - 1, token: `tok-${total - 1}` });
    expect(reloaded.windowRecord('u0@im.wechat')).toBeUndefined();
  });
});
