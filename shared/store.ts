/**
 * Persisted bot state (§5, §6): the getupdates cursor, the latest context
 * token per user, and a window of recently handled message IDs for dedupe.
 *
 * Stores are synchronous on purpose: state is small (tens of KB), and a save
 * that completes before the next message is handed over keeps the window in
 * which a crash can cause a repeat as small as possible.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface BotStateSnapshot {
  version: 1;
  cursor: string;
  /** userId → latest context_token. */
  contextTokens: Record<string, string>;
  /** Recently handled message IDs, oldest first. */
  seenMessageIds: string[];
}

export interface StateStore {
  load(): BotStateSnapshot | undefined;
  save(snapshot: BotStateSnapshot): void;
}

export const DEFAULT_DEDUPE_WINDOW = 2000;
export const MAX_CONTEXT_TOKENS = 5000;

export function emptySnapshot(): BotStateSnapshot {
  return { version: 1, cursor: '', contextTokens: {}, seenMessageIds: [] };
}

/** Accepts anything that came back from disk or host storage, keeping only well-formed parts. */
export function normalizeSnapshot(value: unknown): BotStateSnapshot {
  const snapshot = emptySnapshot();
  if (!value || typeof value !== 'object') return snapshot;
  const raw = value as Partial<Record<keyof BotStateSnapshot, unknown>>;
  if (typeof raw.cursor === 'string') snapshot.cursor = raw.cursor;
  if (raw.contextTokens && typeof raw.contextTokens === 'object') {
    for (const [user, token] of Object.entries(raw.contextTokens as Record<string, unknown>)) {
      if (typeof token === 'string' && token) snapshot.contextTokens[user] = token;
    }
  }
  if (Array.isArray(raw.seenMessageIds)) {
    snapshot.seenMessageIds = raw.seenMessageIds.filter((id): id is string => typeof id === 'string' && id !== '');
  }
  return snapshot;
}

export class MemoryStateStore implements StateStore {
  private snapshot: BotStateSnapshot | undefined;
  constructor(initial?: BotStateSnapshot) {
    this.snapshot = initial ? structuredClone(initial) : undefined;
  }
  load(): BotStateSnapshot | undefined {
    return this.snapshot ? structuredClone(this.snapshot) : undefined;
  }
  save(snapshot: BotStateSnapshot): void {
    this.snapshot = structuredClone(snapshot);
  }
}

/**
 * One JSON file per bot, replaced atomically (write a temp file, then rename),
 * so a crash mid-write leaves the previous state intact.
 */
export class FileStateStore implements StateStore {
  constructor(readonly path: string) {}

  load(): BotStateSnapshot | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return normalizeSnapshot(JSON.parse(text));
    } catch {
      // A damaged file must not stop the bot; start from an empty cursor (dedupe is lost too).
      return undefined;
    }
  }

  save(snapshot: BotStateSnapshot): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(snapshot), { mode: 0o600 });
    renameSync(temp, this.path);
  }
}

/**
 * Stores the snapshot inside a host-owned object (n8n workflow static data),
 * under one key, so that the host persists it with its own mechanism.
 */
export class ObjectStateStore implements StateStore {
  constructor(
    private readonly target: Record<string, unknown>,
    private readonly key = 'ilinkState',
  ) {}
  load(): BotStateSnapshot | undefined {
    return this.target[this.key] === undefined ? undefined : normalizeSnapshot(this.target[this.key]);
  }
  save(snapshot: BotStateSnapshot): void {
    this.target[this.key] = structuredClone(snapshot);
  }
}

/** File-name-safe account ID, as the official client does (`@` and `.` become `-`). */
export function safeAccountId(botId: string): string {
  return botId.replace(/[@.]/g, '-').replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The in-memory view of a bot's state; every change is saved through the store. */
export class BotState {
  private cursorValue: string;
  private readonly tokens: Map<string, string>;
  private readonly seen: Set<string>;
  private readonly seenOrder: string[];
  private batchDepth = 0;
  private dirty = false;

  constructor(
    private readonly store: StateStore = new MemoryStateStore(),
    private readonly dedupeWindow = DEFAULT_DEDUPE_WINDOW,
  ) {
    const snapshot = store.load() ?? emptySnapshot();
    this.cursorValue = snapshot.cursor;
    this.tokens = new Map(Object.entries(snapshot.contextTokens));
    this.seenOrder = snapshot.seenMessageIds.slice(-dedupeWindow);
    this.seen = new Set(this.seenOrder);
  }

  get cursor(): string {
    return this.cursorValue;
  }

  setCursor(cursor: string): void {
    if (cursor === this.cursorValue) return;
    this.cursorValue = cursor;
    this.persist();
  }

  contextToken(userId: string): string | undefined {
    return this.tokens.get(userId);
  }

  rememberContextToken(userId: string, token: string): void {
    if (!userId || !token || this.tokens.get(userId) === token) return;
    this.tokens.delete(userId); // re-insert so the map keeps the most recent users last
    this.tokens.set(userId, token);
    while (this.tokens.size > MAX_CONTEXT_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    this.persist();
  }

  forgetContextToken(userId: string): void {
    if (this.tokens.delete(userId)) this.persist();
  }

  hasSeen(messageId: string): boolean {
    return messageId !== '' && this.seen.has(messageId);
  }

  markSeen(messageId: string): void {
    if (!messageId || this.seen.has(messageId)) return;
    this.seen.add(messageId);
    this.seenOrder.push(messageId);
    while (this.seenOrder.length > this.dedupeWindow) this.seen.delete(this.seenOrder.shift() as string);
    this.persist();
  }

  snapshot(): BotStateSnapshot {
    return {
      version: 1,
      cursor: this.cursorValue,
      contextTokens: Object.fromEntries(this.tokens),
      seenMessageIds: [...this.seenOrder],
    };
  }

  /** Runs several changes and saves once at the end (one write per handled message). */
  batch<T>(changes: () => T): T {
    this.batchDepth++;
    try {
      return changes();
    } finally {
      this.batchDepth--;
      if (this.batchDepth === 0 && this.dirty) this.persist();
    }
  }

  private persist(): void {
    if (this.batchDepth > 0) {
      this.dirty = true;
      return;
    }
    this.dirty = false;
    this.store.save(this.snapshot());
  }
}
