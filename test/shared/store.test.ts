import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BotState, FileStateStore, MemoryStateStore, ObjectStateStore, safeAccountId } from '../../shared/store';

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

  test('the file is private to the user (0600)', () => {
    const path = tempFile();
    new BotState(new FileStateStore(path)).setCursor('x');
    const { statSync } = require('node:fs');
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

  test('batch() saves once', () => {
    let saves = 0;
    const store = new MemoryStateStore();
    const counting = { load: () => store.load(), save: (s: any) => (saves++, store.save(s)) };
    const state = new BotState(counting);
    state.batch(() => {
      state.rememberContextToken('u', 't');
      state.markSeen('1');
      state.setCursor('c');
    });
    expect(saves).toBe(1);
    expect(store.load()).toMatchObject({ cursor: 'c', contextTokens: { u: 't' }, seenMessageIds: ['1'] });
  });

  test('a damaged state file starts fresh instead of crashing', () => {
    const path = tempFile();
    new BotState(new FileStateStore(path)).setCursor('x');
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
    expect(JSON.parse(readFileSync(path, 'utf8')).contextTokens).toEqual({ u: 'new' });
    state.forgetContextToken('u');
    expect(new BotState(new FileStateStore(path)).contextToken('u')).toBeUndefined();
  });
});

test('safeAccountId turns a bot ID into a file name like the official client', () => {
  expect(safeAccountId('abc@im.bot')).toBe('abc-im-bot');
  expect(safeAccountId('../x/y')).toBe('--_x_y');
});
