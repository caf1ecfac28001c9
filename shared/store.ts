/**
 * Persisted bot state (§5, §6, §10): the getupdates cursor, the latest context
 * token per user, a window of recently handled message IDs for dedupe, the
 * inbox of fetched messages not yet handled, and a small cache of recent
 * messages that ID-only quotes are restored from.
 *
 * The inbox exists because the real server never replays (§10): a message a
 * getupdates answer carried is gone from the server, so it must be on disk
 * before anything else happens to it, and stays there until it was handled.
 *
 * BotState hands each change to the store as a small record, synchronously,
 * before the next message is handed over: that keeps the window in which a
 * crash can repeat a message as small as possible. The file store appends the
 * records to a journal (a few dozen bytes per message) and only now and then
 * rewrites the whole state, so saving stays cheap however large the state is.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TokenBudget, UserWindowRecord } from './reply-window';
import type { MessageItem, WeixinMessage } from './wire';

export interface BotStateSnapshot {
  version: 1;
  cursor: string;
  /** userId → latest context_token. */
  contextTokens: Record<string, string>;
  /** Recently handled message IDs, oldest first. */
  seenMessageIds: string[];
  /** Fetched and not yet handled, in the order they arrived. */
  inbox: InboxEntry[];
  /** Recent inbound and outbound messages, oldest first (for ID-only quotes, §10). */
  recent: RecentMessage[];
  /** userId → when they last wrote, and that message's context token (the reply window, §10). */
  windows: Record<string, UserWindowRecord>;
  /** context token → what the bot sent with it (the budget of its user message, §10). */
  budgets: Record<string, TokenBudget>;
  /** Sends queued until the user writes again, oldest first. */
  outbox: OutboxEntry[];
}

/** A send waiting for its recipient's next message. */
export interface OutboxEntry {
  id: string;
  to: string;
  /**
   * The wire items, one sendmessage each, already filtered and split; for the
   * rest of a long answer, its parts (texts not yet cut to messages).
   */
  items: MessageItem[];
  queuedAt: number;
  /** Set on the rest of a long answer: sent as far as each budget allows, the last message ending with this hint. */
  continuationHint?: string;
}

/** A fetched message waiting to be handled. `key` is its message_id (or a local key when it has none). */
export interface InboxEntry {
  key: string;
  msg: WeixinMessage;
}

/** What a quote of a message needs: who wrote it and its body item (text cut to RECENT_TEXT_LIMIT). */
export interface RecentMessage {
  id: string;
  /** The sender; '' for the bot's own messages. */
  from: string;
  item: MessageItem;
}

/**
 * One change to the state, as stores record it. `seen` marks a message
 * handled: it leaves the inbox (its body going to the recent cache) and
 * enters the dedupe window.
 */
export type StateChange =
  | { cursor: string }
  | { token: [userId: string, token: string] }
  | { forget: string }
  | { seen: string }
  | { fetched: InboxEntry }
  | { recent: RecentMessage }
  /** The user wrote at this time, with this context token: a new window, and the token's budget. */
  | { inbound: [userId: string, at: number, token: string] }
  /** The bot sent this many messages with this context token. */
  | { sent: [token: string, count: number] }
  /** The server refused a send with this context token (-2). */
  | { refused: string }
  | { queued: OutboxEntry }
  | { unqueued: string };

export interface StateStore {
  load(): BotStateSnapshot | undefined;
  /** Persists the changes, in order, before returning (or, for a store that writes elsewhere, starts writing them: see durable). */
  record(changes: readonly StateChange[]): void;
  /** A store that writes elsewhere (another machine): resolves once everything recorded so far is stored there. */
  durable?(): Promise<void>;
  /**
   * A store that several processes share: the changes other processes
   * recorded since the last call, or their whole state when this process fell
   * so far behind that those changes are compacted away.
   */
  pull?(): Promise<RemoteChanges>;
  /** A store that several processes share: runs `work` while no other process works for this user. */
  exclusive?<T>(userId: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * A store that several processes share: claims receiving for the bot among
   * them (one poller per bot, §10), waiting out a claim left by a process
   * that died; rejects with PollerConflictError naming a live holder.
   * `onLost` is called if another process takes the claim over later.
   */
  claimReceiver?(owner: string, onLost: (error: Error) => void, signal: AbortSignal): Promise<ReceiverClaim>;
}

/** Receiving for a bot, claimed among the processes that share its state. */
export interface ReceiverClaim {
  /** Whether this process still holds the claim (renewing it when that is not certain): false when another process holds it (`onLost` has then been called). */
  confirm(): Promise<boolean>;
  release(): Promise<void>;
}

const UNSHARED_CLAIM: ReceiverClaim = { confirm: async () => true, release: async () => undefined };

/** What other processes changed: the changes in order, or a snapshot that replaces this process's view. */
export type RemoteChanges = { changes: StateChange[] } | { snapshot: BotStateSnapshot };

export const DEFAULT_DEDUPE_WINDOW = 2000;
export const MAX_CONTEXT_TOKENS = 5000;
/** How many recent messages a quote can be restored from (the state is rewritten whole now and then, so keep it small). */
export const MAX_RECENT_MESSAGES = 300;
/** Quoted text kept per recent message, in UTF-16 units. */
export const RECENT_TEXT_LIMIT = 1000;

export function emptySnapshot(): BotStateSnapshot {
  return { version: 1, cursor: '', contextTokens: {}, seenMessageIds: [], inbox: [], recent: [], windows: {}, budgets: {}, outbox: [] };
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
  if (Array.isArray(raw.inbox)) snapshot.inbox = raw.inbox.filter(isInboxEntry);
  if (Array.isArray(raw.recent)) snapshot.recent = raw.recent.filter(isRecentMessage);
  if (raw.windows && typeof raw.windows === 'object') {
    for (const [user, record] of Object.entries(raw.windows as Record<string, unknown>)) {
      if (isWindowRecord(record)) snapshot.windows[user] = { ...record };
    }
  }
  if (raw.budgets && typeof raw.budgets === 'object') {
    for (const [token, budget] of Object.entries(raw.budgets as Record<string, unknown>)) {
      if (typeof (budget as TokenBudget | null)?.sends === 'number') snapshot.budgets[token] = { ...(budget as TokenBudget) };
    }
  }
  if (Array.isArray(raw.outbox)) snapshot.outbox = raw.outbox.filter(isOutboxEntry);
  pruneSnapshot(snapshot);
  return snapshot;
}

function isWindowRecord(value: unknown): value is UserWindowRecord {
  const record = value as Partial<UserWindowRecord> | null;
  return typeof record?.lastInboundAt === 'number' && Number.isFinite(record.lastInboundAt) && typeof record.token === 'string';
}

function isOutboxEntry(value: unknown): value is OutboxEntry {
  const entry = value as Partial<OutboxEntry> | null;
  return typeof entry?.id === 'string' && typeof entry.to === 'string' && entry.to !== '' && Array.isArray(entry.items) && typeof entry.queuedAt === 'number';
}

function isInboxEntry(value: unknown): value is InboxEntry {
  const entry = value as Partial<InboxEntry> | null;
  return typeof entry?.key === 'string' && entry.key !== '' && typeof entry.msg === 'object' && entry.msg !== null;
}

function isRecentMessage(value: unknown): value is RecentMessage {
  const entry = value as Partial<RecentMessage> | null;
  return typeof entry?.id === 'string' && entry.id !== '' && typeof entry.from === 'string' && typeof entry.item === 'object' && entry.item !== null;
}

/** The item a quote of this message shows: its first text item, else its first item; long text cut. */
export function recentMessageOf(id: string, msg: WeixinMessage): RecentMessage | undefined {
  const items = Array.isArray(msg.item_list) ? msg.item_list : [];
  const body = items.find((item) => item?.type === 1 && item.text_item?.text) ?? items.find((item) => item && typeof item === 'object');
  if (!id || !body) return undefined;
  const text = body.text_item?.text;
  // The quote of the quoted message is not kept: quotes do not chain through the cache.
  const { ref_msg: _quote, ...item } = body;
  if (typeof text === 'string' && text.length > RECENT_TEXT_LIMIT) item.text_item = { ...item.text_item, text: text.slice(0, RECENT_TEXT_LIMIT) };
  return { id, from: msg.from_user_id ?? '', item };
}

/** Applies changes to a snapshot in place (the one rule every store shares). */
export function applyChanges(snapshot: BotStateSnapshot, changes: readonly StateChange[], dedupeWindow = DEFAULT_DEDUPE_WINDOW): void {
  let seenGrew = false;
  let recentGrew = false;
  for (const change of changes) {
    if ('cursor' in change) snapshot.cursor = change.cursor;
    else if ('token' in change) {
      const [user, token] = change.token;
      delete snapshot.contextTokens[user]; // re-insert so the most recent users come last
      snapshot.contextTokens[user] = token;
    } else if ('forget' in change) delete snapshot.contextTokens[change.forget];
    else if ('seen' in change) {
      snapshot.seenMessageIds.push(change.seen);
      seenGrew = true;
      const at = snapshot.inbox.findIndex((entry) => entry.key === change.seen);
      if (at >= 0) {
        const recent = recentMessageOf(change.seen, snapshot.inbox[at].msg);
        if (recent) {
          snapshot.recent.push(recent);
          recentGrew = true;
        }
        snapshot.inbox.splice(at, 1);
      }
    } else if ('fetched' in change) {
      if (!snapshot.inbox.some((entry) => entry.key === change.fetched.key)) snapshot.inbox.push(change.fetched);
    } else if ('recent' in change) {
      snapshot.recent.push(change.recent);
      recentGrew = true;
    } else if ('inbound' in change) {
      const [user, at, token] = change.inbound;
      delete snapshot.windows[user]; // re-insert so the most recent users come last
      snapshot.windows[user] = { lastInboundAt: at, token };
    } else if ('sent' in change) {
      const [token, count] = change.sent;
      const budget = snapshot.budgets[token] ?? { sends: 0 };
      delete snapshot.budgets[token]; // re-insert so the most recently used tokens come last
      snapshot.budgets[token] = { ...budget, sends: budget.sends + count };
    } else if ('refused' in change) {
      snapshot.budgets[change.refused] = { ...(snapshot.budgets[change.refused] ?? { sends: 0 }), refused: true };
    } else if ('queued' in change) {
      // Queued again under its ID (the rest of a long answer, after a part went out): it keeps its place.
      const at = snapshot.outbox.findIndex((entry) => entry.id === change.queued.id);
      if (at >= 0) snapshot.outbox[at] = change.queued;
      else snapshot.outbox.push(change.queued);
    }
    else if ('unqueued' in change) snapshot.outbox = snapshot.outbox.filter((entry) => entry.id !== change.unqueued);
  }
  // Trimmed in steps, so that a full window does not cost a shift of the whole array per message.
  if (seenGrew && snapshot.seenMessageIds.length > dedupeWindow + TRIM_SLACK) {
    snapshot.seenMessageIds.splice(0, snapshot.seenMessageIds.length - dedupeWindow);
  }
  if (recentGrew && snapshot.recent.length > MAX_RECENT_MESSAGES + TRIM_SLACK) snapshot.recent.splice(0, snapshot.recent.length - MAX_RECENT_MESSAGES);
}

/** How far the snapshot's lists may grow past their caps before they are trimmed. */
const TRIM_SLACK = 256;
/** The memory and host-object stores apply every cap this often (in records). */
const PRUNE_EVERY = 1000;

/**
 * Applies every cap to a snapshot (users, tokens, windows, budgets, the seen
 * window, recent messages). applyChanges leaves the per-user maps alone, as
 * counting an object's keys on every message costs more than it saves; the
 * stores call this when they rewrite or load the whole state.
 */
export function pruneSnapshot(snapshot: BotStateSnapshot, dedupeWindow = DEFAULT_DEDUPE_WINDOW): void {
  for (const map of [snapshot.contextTokens, snapshot.windows, snapshot.budgets] as Array<Record<string, unknown>>) {
    const keys = Object.keys(map);
    for (let i = 0; i < keys.length - MAX_CONTEXT_TOKENS; i++) delete map[keys[i]];
  }
  if (snapshot.seenMessageIds.length > dedupeWindow) snapshot.seenMessageIds.splice(0, snapshot.seenMessageIds.length - dedupeWindow);
  if (snapshot.recent.length > MAX_RECENT_MESSAGES) snapshot.recent.splice(0, snapshot.recent.length - MAX_RECENT_MESSAGES);
}

export class MemoryStateStore implements StateStore {
  private snapshot: BotStateSnapshot | undefined;
  /** `initial` may come from an older version (no inbox yet): what is missing starts empty. */
  constructor(initial?: Partial<BotStateSnapshot>) {
    this.snapshot = initial ? normalizeSnapshot(structuredClone(initial)) : undefined;
  }
  load(): BotStateSnapshot | undefined {
    return this.snapshot ? structuredClone(this.snapshot) : undefined;
  }
  private records = 0;
  record(changes: readonly StateChange[]): void {
    this.snapshot ??= emptySnapshot();
    applyChanges(this.snapshot, changes);
    if (++this.records % PRUNE_EVERY === 0) pruneSnapshot(this.snapshot);
  }
}

/**
 * A JSON snapshot plus an append-only journal of changes beside it
 * (`<path>.journal`, one JSON line per change, numbered). Every
 * `compactEvery` changes the snapshot is rewritten atomically (temp file +
 * rename) and the journal removed. Lines the snapshot already holds (a crash
 * between the rename and the removal) are skipped by their number; a torn
 * last line is ignored.
 */
export class FileStateStore implements StateStore {
  readonly journalPath: string;
  private mirror: BotStateSnapshot | undefined;
  private nextSeq = 1;
  private journalLines = 0;

  constructor(
    readonly path: string,
    private readonly compactEvery = 1000,
  ) {
    this.journalPath = `${path}.journal`;
  }

  load(): BotStateSnapshot | undefined {
    const stored = readJson(this.path);
    const snapshot = stored === undefined ? undefined : normalizeSnapshot(stored);
    const snapshotSeq = typeof (stored as { journalSeq?: unknown })?.journalSeq === 'number' ? (stored as { journalSeq: number }).journalSeq : 0;
    const mirror = snapshot ?? emptySnapshot();
    let lastSeq = snapshotSeq;
    let replayed = 0;
    for (const line of readLines(this.journalPath)) {
      const entry = parseJournalLine(line);
      if (!entry || entry.n <= snapshotSeq) continue;
      applyChanges(mirror, [entry.change]);
      lastSeq = Math.max(lastSeq, entry.n);
      replayed++;
    }
    this.mirror = mirror;
    this.nextSeq = lastSeq + 1;
    this.journalLines = replayed;
    return snapshot === undefined && replayed === 0 ? undefined : structuredClone(mirror);
  }

  record(changes: readonly StateChange[]): void {
    if (changes.length === 0) return;
    if (!this.mirror) this.load();
    const lines = changes.map((change) => JSON.stringify({ n: this.nextSeq++, ...change })).join('\n') + '\n';
    try {
      appendFileSync(this.journalPath, lines, { mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.journalPath, lines, { mode: 0o600 });
    }
    applyChanges(this.mirror as BotStateSnapshot, changes);
    this.journalLines += changes.length;
    if (this.journalLines >= this.compactEvery) this.compact();
  }

  /** Rewrites the snapshot with everything recorded so far and drops the journal. */
  compact(): void {
    if (!this.mirror) this.load();
    pruneSnapshot(this.mirror as BotStateSnapshot);
    mkdirSync(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ ...this.mirror, journalSeq: this.nextSeq - 1 }), { mode: 0o600 });
    renameSync(temp, this.path);
    try {
      unlinkSync(this.journalPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.journalLines = 0;
  }
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch {
    // A damaged file must not stop the bot; start from an empty cursor (dedupe is lost too).
    return undefined;
  }
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function parseJournalLine(line: string): { n: number; change: StateChange } | undefined {
  if (!line.trim()) return undefined;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined; // a line torn by a crash mid-write
  }
  if (typeof entry.n !== 'number') return undefined;
  const change = parseChange(entry);
  return change ? { n: entry.n, change } : undefined;
}

/** A change read back from storage, when it is well-formed (other keys, such as a journal line's number, are ignored). */
export function parseChange(value: unknown): StateChange | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const entry = value as Record<string, unknown>;
  if (typeof entry.cursor === 'string') return { cursor: entry.cursor };
  if (typeof entry.seen === 'string' && entry.seen) return { seen: entry.seen };
  if (typeof entry.forget === 'string') return { forget: entry.forget };
  if (isInboxEntry(entry.fetched)) return { fetched: entry.fetched };
  if (isRecentMessage(entry.recent)) return { recent: entry.recent };
  if (isOutboxEntry(entry.queued)) return { queued: entry.queued };
  if (typeof entry.unqueued === 'string') return { unqueued: entry.unqueued };
  if (typeof entry.refused === 'string') return { refused: entry.refused };
  const inbound = entry.inbound;
  if (Array.isArray(inbound) && typeof inbound[0] === 'string' && typeof inbound[1] === 'number' && typeof inbound[2] === 'string') {
    return { inbound: [inbound[0], inbound[1], inbound[2]] };
  }
  const sent = entry.sent;
  if (Array.isArray(sent) && typeof sent[0] === 'string' && typeof sent[1] === 'number') return { sent: [sent[0], sent[1]] };
  const token = entry.token;
  if (Array.isArray(token) && typeof token[0] === 'string' && typeof token[1] === 'string' && token[1]) return { token: [token[0], token[1]] };
  return undefined;
}

/**
 * Stores the snapshot inside a host-owned object (n8n workflow static data),
 * under one key, so that the host persists it with its own mechanism. The key
 * is reassigned on every change so that the host notices it.
 */
export class ObjectStateStore implements StateStore {
  private mirror: BotStateSnapshot | undefined;
  private records = 0;
  constructor(
    private readonly target: Record<string, unknown>,
    private readonly key = 'ilinkState',
  ) {}
  load(): BotStateSnapshot | undefined {
    const stored = this.target[this.key];
    this.mirror = normalizeSnapshot(stored);
    return stored === undefined ? undefined : structuredClone(this.mirror);
  }
  record(changes: readonly StateChange[]): void {
    if (!this.mirror) this.load();
    applyChanges(this.mirror as BotStateSnapshot, changes);
    if (++this.records % PRUNE_EVERY === 0) pruneSnapshot(this.mirror as BotStateSnapshot);
    this.target[this.key] = structuredClone(this.mirror);
  }
}

/** File-name-safe account ID, as the official client does (`@` and `.` become `-`). */
export function safeAccountId(botId: string): string {
  return botId.replace(/[@.]/g, '-').replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The in-memory view of a bot's state; every change is recorded through the store. */
export class BotState {
  private cursorValue: string;
  private readonly tokens: Map<string, string>;
  private readonly seen: Set<string>;
  private readonly seenOrder: string[];
  private readonly inbox: Map<string, WeixinMessage>;
  private readonly recent: Map<string, RecentMessage>;
  private readonly windows: Map<string, UserWindowRecord>;
  private readonly budgets: Map<string, TokenBudget>;
  private readonly outboxEntries: Map<string, OutboxEntry>;
  private pending: StateChange[] = [];
  private batchDepth = 0;
  /** Set while other processes' changes are applied: they are already stored, so they are not recorded again. */
  private applyingRemote = false;

  constructor(
    private readonly store: StateStore = new MemoryStateStore(),
    private readonly dedupeWindow = DEFAULT_DEDUPE_WINDOW,
  ) {
    const snapshot = store.load() ?? emptySnapshot();
    this.cursorValue = snapshot.cursor;
    this.tokens = new Map();
    this.seenOrder = [];
    this.seen = new Set();
    this.inbox = new Map();
    this.recent = new Map();
    this.windows = new Map();
    this.budgets = new Map();
    this.outboxEntries = new Map();
    this.adopt(snapshot);
  }

  /** Whether other processes share this state (n8n queue mode): then refresh() before reading what they write. */
  get shared(): boolean {
    return typeof this.store.pull === 'function';
  }

  /** Resolves once every change so far is stored (at once for the file and memory stores). */
  async durable(): Promise<void> {
    this.flush();
    await this.store.durable?.();
  }

  /** Applies what other processes changed since the last refresh (nothing to do unless the state is shared). */
  async refresh(): Promise<void> {
    if (!this.store.pull) return;
    const remote = await this.store.pull();
    if ('snapshot' in remote) {
      this.adopt(remote.snapshot);
      return;
    }
    this.applyingRemote = true;
    try {
      for (const change of remote.changes) this.applyOne(change);
    } finally {
      this.applyingRemote = false;
    }
  }

  /** See StateStore.claimReceiver; nothing to claim unless other processes share the state. */
  claimReceiver(owner: string, onLost: (error: Error) => void, signal: AbortSignal): Promise<ReceiverClaim> {
    return this.store.claimReceiver ? this.store.claimReceiver(owner, onLost, signal) : Promise.resolve(UNSHARED_CLAIM);
  }

  /**
   * Runs `work` for one user with this state up to date and, when other
   * processes share it, while none of them works for this user; what `work`
   * changed is stored before the next one starts. The sender runs each send
   * and outbox flush in here, so that a budget is never spent twice.
   */
  async forUser<T>(userId: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.store.exclusive) return work();
    return this.store.exclusive(
      userId,
      async () => {
        await this.refresh();
        try {
          return await work();
        } finally {
          await this.durable();
        }
      },
      signal,
    );
  }

  get cursor(): string {
    return this.cursorValue;
  }

  setCursor(cursor: string): void {
    if (cursor === this.cursorValue) return;
    this.cursorValue = cursor;
    this.change({ cursor });
  }

  contextToken(userId: string): string | undefined {
    return this.tokens.get(userId);
  }

  /**
   * Remembers a user's latest token. With `{ flush: false }` the change is
   * kept in memory and recorded with the next change.
   */
  rememberContextToken(userId: string, token: string, options: { flush?: boolean } = {}): void {
    if (!userId || !token || this.tokens.get(userId) === token) return;
    this.tokens.delete(userId); // re-insert so the map keeps the most recent users last
    this.tokens.set(userId, token);
    while (this.tokens.size > MAX_CONTEXT_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    if (!this.applyingRemote) this.pending.push({ token: [userId, token] });
    if (options.flush !== false) this.flush();
  }

  forgetContextToken(userId: string): void {
    if (this.tokens.delete(userId)) this.change({ forget: userId });
  }

  /** Handled already (in the dedupe window). */
  hasSeen(messageId: string): boolean {
    return messageId !== '' && this.seen.has(messageId);
  }

  /** Handled already, or fetched and waiting in the inbox: a message delivered again is dropped. */
  isKnown(key: string): boolean {
    return this.hasSeen(key) || this.inbox.has(key);
  }

  /** Keeps a fetched message until markSeen(key); use inside batch() to record a whole answer in one write. */
  addToInbox(entry: InboxEntry): void {
    if (this.isKnown(entry.key)) return;
    this.inbox.set(entry.key, entry.msg);
    this.change({ fetched: entry });
  }

  /** The fetched messages not yet handled, oldest first. */
  inboxEntries(): InboxEntry[] {
    return [...this.inbox].map(([key, msg]) => ({ key, msg }));
  }

  get inboxSize(): number {
    return this.inbox.size;
  }

  /** Marks a message handled: it leaves the inbox (its body kept for quotes) and enters the dedupe window. */
  markSeen(messageId: string): void {
    if (!messageId || this.seen.has(messageId)) {
      this.flush(); // still record what was waiting (a token noted for this message)
      return;
    }
    this.seen.add(messageId);
    this.seenOrder.push(messageId);
    while (this.seenOrder.length > this.dedupeWindow) this.seen.delete(this.seenOrder.shift() as string);
    const fetched = this.inbox.get(messageId);
    if (fetched) {
      this.inbox.delete(messageId);
      const recent = recentMessageOf(messageId, fetched);
      if (recent) this.keepRecent(recent);
    }
    this.change({ seen: messageId });
  }

  /**
   * The user wrote at `at` (ms) a message with this context token: their latest token,
   * a new reply window, and the token's own budget (§10). Recorded in one write.
   */
  noteUserMessage(userId: string, token: string | undefined, at: number): void {
    if (!userId) return;
    this.batch(() => {
      if (token) this.rememberContextToken(userId, token, { flush: false });
      this.windows.delete(userId);
      this.windows.set(userId, { lastInboundAt: at, token: token ?? '' });
      while (this.windows.size > MAX_CONTEXT_TOKENS) this.windows.delete(this.windows.keys().next().value as string);
      this.change({ inbound: [userId, at, token ?? ''] });
    });
  }

  /** The bot sent `count` messages with this context token. */
  noteSent(token: string | undefined, count = 1): void {
    if (!token) return;
    const budget = this.budgets.get(token) ?? { sends: 0 };
    this.budgets.delete(token);
    this.budgets.set(token, { ...budget, sends: budget.sends + count });
    while (this.budgets.size > MAX_CONTEXT_TOKENS) this.budgets.delete(this.budgets.keys().next().value as string);
    this.change({ sent: [token, count] });
  }

  /** The server refused a send with this context token (-2). */
  noteRefused(token: string | undefined): void {
    if (!token || this.budgets.get(token)?.refused) return;
    this.budgets.set(token, { ...(this.budgets.get(token) ?? { sends: 0 }), refused: true });
    this.change({ refused: token });
  }

  windowRecord(userId: string): UserWindowRecord | undefined {
    const record = this.windows.get(userId);
    return record ? { ...record } : undefined;
  }

  budget(token: string | undefined): TokenBudget | undefined {
    const budget = token ? this.budgets.get(token) : undefined;
    return budget ? { ...budget } : undefined;
  }

  /** Users whose last message this state knows, oldest first. */
  windowUsers(): string[] {
    return [...this.windows.keys()];
  }

  /** Adds a send to the outbox; an entry queued again under its ID replaces the old one in its place. */
  queue(entry: OutboxEntry): void {
    this.outboxEntries.set(entry.id, entry);
    this.change({ queued: entry });
  }

  unqueue(id: string): void {
    if (this.outboxEntries.delete(id)) this.change({ unqueued: id });
  }

  /** Queued sends, oldest first; for one user when given. */
  outbox(userId?: string): OutboxEntry[] {
    const all = [...this.outboxEntries.values()];
    return userId === undefined ? all : all.filter((entry) => entry.to === userId);
  }

  /** Remembers a message the bot sent (by its server message ID), so that a quote of it can be restored. */
  rememberSent(messageId: string, item: MessageItem): void {
    const recent = recentMessageOf(messageId, { from_user_id: '', item_list: [item] });
    if (!recent) return;
    this.keepRecent(recent);
    this.change({ recent });
  }

  /** A recent message by its server ID: handled, waiting in the inbox, or sent by the bot. */
  recentMessage(messageId: string): RecentMessage | undefined {
    const fetched = this.inbox.get(messageId);
    return fetched ? recentMessageOf(messageId, fetched) : this.recent.get(messageId);
  }

  /** Replaces this view with a snapshot (at construction, and when another process compacted what this one had not read). */
  private adopt(snapshot: BotStateSnapshot): void {
    for (const map of [this.tokens, this.inbox, this.recent, this.windows, this.budgets, this.outboxEntries] as Array<Map<string, unknown>>) map.clear();
    this.seen.clear();
    this.seenOrder.length = 0;
    this.cursorValue = snapshot.cursor;
    for (const [user, token] of Object.entries(snapshot.contextTokens)) this.tokens.set(user, token);
    this.seenOrder.push(...snapshot.seenMessageIds.slice(-this.dedupeWindow));
    for (const id of this.seenOrder) this.seen.add(id);
    for (const entry of snapshot.inbox) this.inbox.set(entry.key, entry.msg);
    for (const entry of snapshot.recent) this.recent.set(entry.id, entry);
    for (const [user, record] of Object.entries(snapshot.windows)) this.windows.set(user, { ...record });
    for (const [token, budget] of Object.entries(snapshot.budgets)) this.budgets.set(token, { ...budget });
    for (const entry of snapshot.outbox) this.outboxEntries.set(entry.id, entry);
  }

  /** One change another process recorded, applied through the same methods as a local one. */
  private applyOne(change: StateChange): void {
    if ('cursor' in change) this.setCursor(change.cursor);
    else if ('token' in change) this.rememberContextToken(change.token[0], change.token[1]);
    else if ('forget' in change) this.forgetContextToken(change.forget);
    else if ('seen' in change) this.markSeen(change.seen);
    else if ('fetched' in change) this.addToInbox(change.fetched);
    else if ('recent' in change) this.keepRecent(change.recent);
    else if ('inbound' in change) this.noteUserMessage(change.inbound[0], change.inbound[2] || undefined, change.inbound[1]);
    else if ('sent' in change) this.noteSent(change.sent[0], change.sent[1]);
    else if ('refused' in change) this.noteRefused(change.refused);
    else if ('queued' in change) this.queue(change.queued);
    else if ('unqueued' in change) this.unqueue(change.unqueued);
  }

  snapshot(): BotStateSnapshot {
    return {
      version: 1,
      cursor: this.cursorValue,
      contextTokens: Object.fromEntries(this.tokens),
      seenMessageIds: [...this.seenOrder],
      inbox: this.inboxEntries(),
      recent: [...this.recent.values()],
      windows: Object.fromEntries([...this.windows].map(([user, record]) => [user, { ...record }])),
      budgets: Object.fromEntries([...this.budgets].map(([token, budget]) => [token, { ...budget }])),
      outbox: this.outbox(),
    };
  }

  /** Runs several changes and records them together at the end. */
  batch<T>(changes: () => T): T {
    this.batchDepth++;
    try {
      return changes();
    } finally {
      this.batchDepth--;
      this.flush();
    }
  }

  private keepRecent(recent: RecentMessage): void {
    this.recent.delete(recent.id);
    this.recent.set(recent.id, recent);
    while (this.recent.size > MAX_RECENT_MESSAGES) this.recent.delete(this.recent.keys().next().value as string);
  }

  private change(change: StateChange): void {
    if (this.applyingRemote) return;
    this.pending.push(change);
    this.flush();
  }

  private flush(): void {
    if (this.batchDepth > 0 || this.pending.length === 0) return;
    const changes = this.pending;
    this.pending = [];
    this.store.record(changes);
  }
}
