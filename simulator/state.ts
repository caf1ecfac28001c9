/**
 * The simulator's memory: bots and their tokens, inbound queues with opaque
 * cursors, context tokens, reply windows (send-rules.ts), sent messages,
 * typing and notify records. Pure state with events; no HTTP here.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { MessageItemType, MessageState, MessageType, type MessageItem, type PartialText, type RefMessage, type WeixinMessage } from '../shared/wire';
import {
  FIRST_ITEM_ID,
  MessageIdCounter,
  newBotId,
  newBotToken,
  newContextToken,
  newCursor,
  newSessionId,
  newTypingTicket,
  randomHex,
} from './ids';
import type { SimClock } from './clock';
import { SendRules, type RateLimit, type ReplyWindowView, type SendBlock } from './send-rules';
import { recordIssuedToken } from './token-ledger';

/** Messages kept per bot until acknowledged; the oldest are dropped beyond this. */
export const QUEUE_CAP = 5000;
/** At most this many messages per getupdates answer. */
export const BATCH_CAP = 100;
const CURSOR_CAP = 1000;
const TIMELINE_CAP = 2000;
const SENT_CAP = 10_000;
const CONTEXT_TOKEN_CAP = 10_000;

export interface BotInfo {
  botId: string;
  token: string;
  ownerUserId: string;
  /** The account API base (what `confirmed` answers as baseurl). */
  baseUrl: string;
  sessionExpired: boolean;
  createdAt: number;
}

export interface CreateBotOptions {
  token?: string;
  botId?: string;
  ownerUserId?: string;
  /** Account API base reported for this bot (default: the simulator's API base). */
  baseUrl?: string;
}

export interface InjectMessageOptions {
  botId?: string;
  token?: string;
  /** Sending user, e.g. `alice@im.wechat`. */
  from: string;
  text?: string;
  /** Extra wire items (after the text item, if any). */
  items?: MessageItem[];
  /** Use this context_token instead of a fresh one. */
  contextToken?: string;
  /** Quote attached to the first item, written as given. */
  refMsg?: RefMessage;
  /**
   * Quote an earlier inbound or sent message of this bot by its server message
   * ID. With the `idOnlyQuotes` option (default) the first item gets
   * `ref_msg {svr_id, partial_text, message_item: {type: 0}}`, as current
   * WeChat clients send it (§10); without it `ref_msg {message_item, title}`.
   * Not together with refMsg.
   */
  quote?: QuoteById;
  /** Default 1 (USER). */
  messageType?: number;
}

export interface QuoteById {
  /** Server message ID (decimal string) of an inbound or sent message of the same bot. */
  messageId: string;
}

/**
 * partial_text as the official 2.4.9 types declare it: start/end are strings,
 * startindex/endindex numbers (shared/wire.ts types start/end as numbers).
 */
interface WirePartialText {
  start: string;
  end: string;
  startindex: number;
  endindex: number;
  quotemd5: string;
}

export interface InjectedMessage {
  messageId: string;
  contextToken: string;
}

export interface SentRecord {
  /** Position in the simulator-wide list of sent messages (0-based). */
  index: number;
  botId: string;
  to: string;
  messageId: string;
  clientId?: string;
  /** The wire message as received (uint64 IDs as strings). */
  msg: WeixinMessage;
  time: number;
  recalled: boolean;
  recalledAt?: number;
}

/** One getupdates answer that carried messages, stamped when its last byte was handed to the socket. */
export interface Delivery {
  botId: string;
  /** In queue order. */
  messageIds: string[];
  /** Date.now() (ms), the clock hosts such as n8n stamp their executions with. */
  time: number;
}

/** One line of a conversation, for the chat page. */
export interface TimelineEntry {
  direction: 'in' | 'out';
  botId: string;
  userId: string;
  messageId: string;
  items: MessageItem[];
  time: number;
  recalled: boolean;
}

export interface TypingState {
  typing: boolean;
  status?: number;
  updatedAt?: number;
  /** When "typing…" disappears unless refreshed (status 1 only). */
  until?: number;
}

export interface NotificationRecord {
  kind: 'start' | 'stop';
  time: number;
}

interface ContextTokenRecord {
  userId: string;
}

class Bot {
  queue: WeixinMessage[] = [];
  /** Absolute position of queue[0]. */
  queueStart = 0;
  readonly cursors = new Map<string, number>();
  seq = 0;
  readonly contextTokens = new Map<string, ContextTokenRecord>();
  readonly sessionIds = new Map<string, string>();
  readonly ticketsByUser = new Map<string, string>();
  readonly usersByTicket = new Map<string, string>();
  readonly typing = new Map<string, { status: number; updatedAt: number }>();
  readonly notifications: NotificationRecord[] = [];
  readonly timeline: TimelineEntry[] = [];

  constructor(public info: BotInfo) {}

  get queueEnd(): number {
    return this.queueStart + this.queue.length;
  }
}

export type TokenLookup = { kind: 'valid'; bot: BotInfo } | { kind: 'invalid' };

export interface StateConfig {
  /** The clock of the sending rules (reply window, budget, rate limit). */
  clock: SimClock;
  /** §10 reply window after the user's last message (options.replyWindowMs). */
  replyWindowMs: number;
  /** §10 budget of successful sends per user message (options.sendsPerInbound). */
  sendsPerInbound: number;
  /** Per-bot rate limit (options.rateLimit), null when off. */
  rateLimit: RateLimit | null;
  typingDisplayMs: number;
  /** Re-deliver on an old, unknown or empty cursor (options.replay). */
  replay: boolean;
  /** injectMessage's `quote` sends an ID-only ref_msg (options.idOnlyQuotes). */
  idOnlyQuotes: boolean;
  /** Account API base reported for bots. */
  accountBaseUrl: () => string;
}

export class SimState {
  readonly events = new EventEmitter();
  private bots = new Map<string, Bot>();
  private botIdByToken = new Map<string, string>();
  private sent: SentRecord[] = [];
  private sentCount = 0;
  private readonly messageIds = new MessageIdCounter();
  private readonly itemIds = new MessageIdCounter(FIRST_ITEM_ID);
  private readonly sendRules: SendRules;

  constructor(private readonly config: StateConfig) {
    this.events.setMaxListeners(0);
    this.sendRules = new SendRules({
      clock: config.clock,
      replyWindowMs: config.replyWindowMs,
      sendsPerInbound: config.sendsPerInbound,
      rateLimit: config.rateLimit,
    });
  }

  // ---- Bots and sessions ----

  createBot(options: CreateBotOptions = {}): BotInfo {
    const botId = options.botId ?? newBotId();
    if (this.bots.has(botId)) throw new Error(`bot ${botId} already exists`);
    const token = options.token ?? newBotToken();
    recordIssuedToken(token);
    if (this.botIdByToken.has(token)) throw new Error('that token is already in use');
    const info: BotInfo = {
      botId,
      token,
      ownerUserId: options.ownerUserId ?? `user_${randomHex(6)}@im.wechat`,
      baseUrl: options.baseUrl ?? this.config.accountBaseUrl(),
      sessionExpired: false,
      createdAt: Date.now(),
    };
    this.bots.set(botId, new Bot(info));
    this.botIdByToken.set(token, botId);
    this.events.emit('bots');
    return { ...info };
  }

  listBots(): BotInfo[] {
    return [...this.bots.values()].map((bot) => ({ ...bot.info }));
  }

  getBot(botId: string): BotInfo | undefined {
    const bot = this.bots.get(botId);
    return bot ? { ...bot.info } : undefined;
  }

  /** The newest bot owned by this WeChat user, if any. */
  botOwnedBy(userId: string): BotInfo | undefined {
    const owned = [...this.bots.values()].filter((bot) => bot.info.ownerUserId === userId);
    const newest = owned[owned.length - 1];
    return newest ? { ...newest.info } : undefined;
  }

  /** Unknown, replaced and expired tokens are all `invalid`: the server answers -14 for them. */
  lookupToken(token: string): TokenLookup {
    const botId = this.botIdByToken.get(token);
    const bot = botId ? this.bots.get(botId) : undefined;
    if (!bot || bot.info.token !== token || bot.info.sessionExpired) return { kind: 'invalid' };
    return { kind: 'valid', bot: { ...bot.info } };
  }

  /** A new login of the same owner: fresh token, the old one stops working (like logging in on another device). */
  rebindBot(botId: string, baseUrl: string): BotInfo {
    const bot = this.requireBot(botId);
    this.botIdByToken.delete(bot.info.token);
    bot.info.token = newBotToken();
    recordIssuedToken(bot.info.token);
    bot.info.sessionExpired = false;
    bot.info.baseUrl = baseUrl;
    this.botIdByToken.set(bot.info.token, botId);
    this.events.emit('session', botId);
    this.events.emit('bots');
    return { ...bot.info };
  }

  expireSession(botId: string): void {
    const bot = this.requireBot(botId);
    bot.info.sessionExpired = true;
    this.events.emit('session', botId);
    this.events.emit('bots');
  }

  // ---- Inbound messages and the getupdates queue (§5) ----

  injectMessage(options: InjectMessageOptions): InjectedMessage {
    const bot = this.resolveBot(options.botId, options.token);
    if (typeof options.from !== 'string' || !options.from) throw new Error('injectMessage needs `from` (a user id)');
    // Stamped on the simulator clock, like the reply window it opens: a client that dates the window
    // from create_time_ms then agrees with the server's rules when a test moves the clock.
    const now = this.config.clock.now();
    const items: MessageItem[] = [];
    if (options.text !== undefined) items.push({ type: MessageItemType.TEXT, text_item: { text: options.text } });
    for (const item of options.items ?? []) items.push(structuredClone(item));
    if (items.length === 0) throw new Error('injectMessage needs `text` or `items`');
    if (options.refMsg && options.quote) throw new Error('injectMessage takes `refMsg` or `quote`, not both');
    const refMsg = options.quote !== undefined ? this.quoteRef(bot, options.quote) : options.refMsg ? structuredClone(options.refMsg) : undefined;
    const stampedItems = items.map((item) => ({
      ...item,
      create_time_ms: item.create_time_ms ?? now,
      update_time_ms: item.update_time_ms ?? now,
      is_completed: item.is_completed ?? true,
      msg_id: item.msg_id ?? this.itemIds.take(),
    }));
    if (refMsg) stampedItems[0].ref_msg = refMsg;

    const contextToken = options.contextToken ?? newContextToken();
    this.rememberContextToken(bot, contextToken, options.from);
    const messageType = options.messageType ?? MessageType.USER;
    // Only a user's own message opens the reply window (§10); an injected bot echo does not.
    if (messageType === MessageType.USER) this.sendRules.userWrote(bot.info.botId, options.from, contextToken);
    const messageId = this.messageIds.take();
    bot.seq += 1;
    const message: WeixinMessage = {
      seq: bot.seq,
      message_id: messageId,
      from_user_id: options.from,
      to_user_id: bot.info.botId,
      create_time_ms: now,
      update_time_ms: now,
      session_id: this.sessionIdFor(bot, options.from),
      message_type: messageType,
      message_state: MessageState.FINISH,
      item_list: stampedItems,
      context_token: contextToken,
    };
    this.enqueue(bot, message);
    this.addTimeline(bot, { direction: 'in', botId: bot.info.botId, userId: options.from, messageId, items: stampedItems, time: now, recalled: false });
    this.events.emit('inbound', bot.info.botId);
    if (messageType === MessageType.USER) this.emitWindow(bot.info.botId, options.from);
    return { messageId, contextToken };
  }

  /**
   * The next messages for this cursor. The cursor is opaque and mapped
   * server-side.
   *
   * Default (no replay, §10 #164): an answer consumes what it delivered, so
   * any cursor, old, unknown or '', gets only messages never delivered.
   *
   * replay: a known cursor acknowledges everything before its position, an
   * old one re-delivers (at-least-once); '' or an unknown cursor start at the
   * oldest unacknowledged message.
   */
  takeUpdates(botId: string, cursor: string): { msgs: WeixinMessage[]; cursor: string } {
    const bot = this.requireBot(botId);
    const known = bot.cursors.get(cursor);
    if (!this.config.replay) {
      const msgs = bot.queue.splice(0, BATCH_CAP);
      bot.queueStart += msgs.length;
      if (msgs.length === 0 && known !== undefined) return { msgs, cursor };
      return { msgs: structuredClone(msgs), cursor: this.mintCursor(bot, bot.queueStart) };
    }
    const position = Math.max(known ?? bot.queueStart, bot.queueStart);
    if (known !== undefined && position > bot.queueStart) {
      bot.queue.splice(0, position - bot.queueStart);
      bot.queueStart = position;
    }
    const msgs = bot.queue.slice(position - bot.queueStart, position - bot.queueStart + BATCH_CAP);
    if (msgs.length === 0 && known !== undefined) return { msgs, cursor };
    return { msgs: structuredClone(msgs), cursor: this.mintCursor(bot, position + msgs.length) };
  }

  hasUpdates(botId: string, cursor: string): boolean {
    const bot = this.requireBot(botId);
    // Without replay the queue holds only what was never delivered, whatever the cursor.
    if (!this.config.replay) return bot.queue.length > 0;
    const position = Math.max(bot.cursors.get(cursor) ?? bot.queueStart, bot.queueStart);
    return position < bot.queueEnd;
  }

  /** The cursor of an empty answer that takes nothing: the same one when known, else one at the start. */
  cursorWithoutTaking(botId: string, cursor: string): string {
    const bot = this.requireBot(botId);
    return bot.cursors.has(cursor) ? cursor : this.mintCursor(bot, bot.queueStart);
  }

  /**
   * No replay: messages of an answer that was never completely written (the
   * client went away first) go back to the front of the queue, in order.
   * With replay they were never dropped. Ignored when the bot is gone.
   */
  returnUndelivered(botId: string, msgs: WeixinMessage[]): void {
    const bot = this.bots.get(botId);
    if (this.config.replay || !bot || msgs.length === 0) return;
    bot.queue.unshift(...structuredClone(msgs));
    bot.queueStart -= msgs.length;
    this.events.emit('inbound', botId);
  }

  /**
   * The `duplicate` fault (§10 "Duplicates", #239): these already delivered
   * messages go into the queue again, unchanged (same message_id, seq,
   * context_token, items), and wake held polls. Not a new timeline entry.
   * Ignored when the bot is gone (reset).
   */
  requeueDuplicates(botId: string, msgs: WeixinMessage[]): void {
    const bot = this.bots.get(botId);
    if (!bot || msgs.length === 0) return;
    for (const msg of msgs) this.enqueue(bot, structuredClone(msg));
    this.events.emit('inbound', botId);
  }

  // ---- Context tokens (§6) and the sending rules (§10) ----

  /**
   * Every inbound message brings a fresh token. A token is good for sends to
   * the user it was issued to, any of that user's tokens alike; whether a
   * send may go out at all is the reply window's business (sendBlock).
   */
  checkContextToken(botId: string, userId: string, token: string | undefined): boolean {
    const bot = this.requireBot(botId);
    if (!token) return false;
    return bot.contextTokens.get(token)?.userId === userId;
  }

  /**
   * Why a send to this user would be refused now (reply window, budget, rate
   * limit; §10), or undefined. recordSent then counts the send.
   */
  sendBlock(botId: string, userId: string, contextToken: string): SendBlock | undefined {
    this.requireBot(botId);
    return this.sendRules.block(botId, userId, contextToken);
  }

  /** Closes this user's reply window now (admin.expireContextToken); the user's next message opens it again. */
  closeReplyWindow(botId: string, userId: string): void {
    this.requireBot(botId);
    this.sendRules.close(botId, userId);
    this.emitWindow(botId, userId);
  }

  replyWindow(botId: string, userId: string): ReplyWindowView {
    this.requireBot(botId);
    return this.sendRules.view(botId, userId);
  }

  /** The reply window length and the budget per user message (options). */
  get sendLimits(): { replyWindowMs: number; sendsPerInbound: number } {
    return { replyWindowMs: this.config.replyWindowMs, sendsPerInbound: this.config.sendsPerInbound };
  }

  /** The simulator clock's now (ms epoch). */
  clockNow(): number {
    return this.config.clock.now();
  }

  /** How far advanceClock has moved the simulator clock since the last reset. */
  clockOffsetMs(): number {
    return this.config.clock.offsetMs;
  }

  /** Moves the simulator clock forward; returns the new now. */
  advanceClock(ms: number): number {
    const now = this.config.clock.advance(ms);
    this.events.emit('clock', now);
    return now;
  }

  // ---- Sent messages ----

  recordSent(botId: string, msg: WeixinMessage): SentRecord {
    const bot = this.requireBot(botId);
    const now = Date.now();
    const record: SentRecord = {
      index: this.sentCount++,
      botId,
      to: msg.to_user_id ?? '',
      messageId: this.messageIds.take(),
      clientId: msg.client_id,
      msg: structuredClone(msg),
      time: now,
      recalled: false,
    };
    this.sent.push(record);
    if (this.sent.length > SENT_CAP) this.sent.shift();
    this.sendRules.recordSend(botId, msg.context_token ?? '');
    this.addTimeline(bot, {
      direction: 'out',
      botId,
      userId: record.to,
      messageId: record.messageId,
      items: structuredClone(msg.item_list ?? []),
      time: now,
      recalled: false,
    });
    this.events.emit('sent', record);
    this.emitWindow(botId, record.to);
    return record;
  }

  sentMessages(filter: { botId?: string; to?: string } = {}): SentRecord[] {
    return this.sent
      .filter((record) => (filter.botId === undefined || record.botId === filter.botId) && (filter.to === undefined || record.to === filter.to))
      .map((record) => structuredClone(record));
  }

  /** Marks a message this bot sent as recalled; false when there is no such message. */
  recall(botId: string, messageId: string): boolean {
    const record = this.sent.find((candidate) => candidate.botId === botId && candidate.messageId === messageId);
    if (!record) return false;
    record.recalled = true;
    record.recalledAt = Date.now();
    const entry = this.requireBot(botId).timeline.find((candidate) => candidate.messageId === messageId);
    if (entry) entry.recalled = true;
    this.events.emit('recall', { botId, messageId });
    return true;
  }

  // ---- Typing (§2 getconfig/sendtyping, §5.8-9) ----

  /** One stable ticket per (bot, user), like a ticket the official client caches for up to 24 h. */
  typingTicketFor(botId: string, userId: string): string {
    const bot = this.requireBot(botId);
    let ticket = bot.ticketsByUser.get(userId);
    if (!ticket) {
      ticket = newTypingTicket();
      bot.ticketsByUser.set(userId, ticket);
      bot.usersByTicket.set(ticket, userId);
    }
    return ticket;
  }

  ticketMatches(botId: string, userId: string, ticket: string): boolean {
    return this.requireBot(botId).usersByTicket.get(ticket) === userId;
  }

  setTyping(botId: string, userId: string, status: number): void {
    const bot = this.requireBot(botId);
    bot.typing.set(userId, { status, updatedAt: Date.now() });
    this.events.emit('typing', { botId, userId, state: this.typingState(botId, userId) });
  }

  typingState(botId: string, userId: string): TypingState {
    const record = this.requireBot(botId).typing.get(userId);
    if (!record) return { typing: false };
    const until = record.status === 1 ? record.updatedAt + this.config.typingDisplayMs : undefined;
    return { typing: until !== undefined && Date.now() < until, status: record.status, updatedAt: record.updatedAt, until };
  }

  // ---- notifystart / notifystop ----

  recordNotification(botId: string, kind: 'start' | 'stop'): void {
    this.requireBot(botId).notifications.push({ kind, time: Date.now() });
    this.events.emit('notify', { botId, kind });
  }

  notifications(botId: string): NotificationRecord[] {
    return this.requireBot(botId).notifications.map((record) => ({ ...record }));
  }

  // ---- Chat page ----

  timeline(botId: string): TimelineEntry[] {
    return structuredClone(this.requireBot(botId).timeline);
  }

  /** Users this bot has talked with, owner first. */
  usersOf(botId: string): string[] {
    const bot = this.requireBot(botId);
    const users = new Set<string>([bot.info.ownerUserId]);
    for (const entry of bot.timeline) users.add(entry.userId);
    return [...users];
  }

  reset(): void {
    const botIds = [...this.bots.keys()];
    this.bots.clear();
    this.botIdByToken.clear();
    this.sent = [];
    this.sentCount = 0;
    this.messageIds.reset();
    this.itemIds.reset();
    this.sendRules.reset();
    this.config.clock.reset();
    for (const botId of botIds) this.events.emit('session', botId);
    this.events.emit('bots');
  }

  // ---- helpers ----

  requireBotInfo(botId: string): BotInfo {
    return { ...this.requireBot(botId).info };
  }

  private requireBot(botId: string): Bot {
    const bot = this.bots.get(botId);
    if (!bot) throw new Error(`unknown bot ${botId}`);
    return bot;
  }

  private resolveBot(botId: string | undefined, token: string | undefined): Bot {
    if (botId) return this.requireBot(botId);
    if (token) {
      const id = this.botIdByToken.get(token);
      if (!id) throw new Error('no bot has that token');
      return this.requireBot(id);
    }
    if (this.bots.size === 1) return [...this.bots.values()][0];
    throw new Error(this.bots.size === 0 ? 'no bot exists yet: create one first' : 'several bots exist: pass botId');
  }

  private enqueue(bot: Bot, message: WeixinMessage): void {
    bot.queue.push(message);
    if (bot.queue.length > QUEUE_CAP) {
      bot.queue.shift();
      bot.queueStart += 1;
    }
  }

  /** The ref_msg of injectMessage's `quote`: ID-only or full form (options.idOnlyQuotes). */
  private quoteRef(bot: Bot, quote: QuoteById): RefMessage {
    const messageId: unknown = (quote as Partial<QuoteById> | null)?.messageId;
    if (typeof messageId !== 'string' || !/^\d+$/.test(messageId)) throw new Error('quote needs `messageId`: a server message ID as a decimal string');
    const items =
      bot.timeline.find((entry) => entry.messageId === messageId)?.items ??
      this.sent.find((record) => record.botId === bot.info.botId && record.messageId === messageId)?.msg.item_list;
    if (!items) throw new Error(`quote: bot ${bot.info.botId} has no inbound or sent message ${messageId}`);
    const text = quotedText(items);
    if (this.config.idOnlyQuotes) {
      const ref: RefMessage = { svr_id: messageId, message_item: { type: MessageItemType.NONE } };
      if (text !== undefined) ref.partial_text = partialTextOf(text) as unknown as PartialText;
      return ref;
    }
    const first = items[0];
    const ref: RefMessage = { title: summaryOf(items, text) };
    if (first) ref.message_item = structuredClone(first);
    return ref;
  }

  private mintCursor(bot: Bot, position: number): string {
    const cursor = newCursor();
    bot.cursors.set(cursor, position);
    if (bot.cursors.size > CURSOR_CAP) {
      const oldest = bot.cursors.keys().next().value;
      if (oldest !== undefined) bot.cursors.delete(oldest);
    }
    return cursor;
  }

  private rememberContextToken(bot: Bot, token: string, userId: string): void {
    bot.contextTokens.set(token, { userId });
    if (bot.contextTokens.size > CONTEXT_TOKEN_CAP) {
      const oldest = bot.contextTokens.keys().next().value;
      if (oldest !== undefined) bot.contextTokens.delete(oldest);
    }
  }

  private emitWindow(botId: string, userId: string): void {
    this.events.emit('window', { botId, userId });
  }

  private sessionIdFor(bot: Bot, userId: string): string {
    let sessionId = bot.sessionIds.get(userId);
    if (!sessionId) {
      sessionId = newSessionId();
      bot.sessionIds.set(userId, sessionId);
    }
    return sessionId;
  }

  private addTimeline(bot: Bot, entry: TimelineEntry): void {
    bot.timeline.push(entry);
    if (bot.timeline.length > TIMELINE_CAP) bot.timeline.shift();
    this.events.emit('timeline', structuredClone(entry));
  }
}

/** The text a quote refers to: the first TEXT item's text, else a voice transcript. */
function quotedText(items: MessageItem[]): string | undefined {
  const text = items.find((item) => item.type === MessageItemType.TEXT && typeof item.text_item?.text === 'string')?.text_item?.text;
  if (text) return text;
  const transcript = items.find((item) => item.type === MessageItemType.VOICE && item.voice_item?.text)?.voice_item?.text;
  return transcript || undefined;
}

/**
 * partial_text for a quote of the whole text. What the real fields hold is not
 * documented; our guess: start/end and startindex/endindex both the UTF-16
 * range of the quoted text (start/end as decimal strings, as the official
 * types declare them), quotemd5 the md5 hex of its UTF-8 bytes.
 */
function partialTextOf(text: string): WirePartialText {
  return {
    start: '0',
    end: String(text.length),
    startindex: 0,
    endindex: text.length,
    quotemd5: createHash('md5').update(text, 'utf8').digest('hex'),
  };
}

const SUMMARY_CHARS = 30;
const MEDIA_SUMMARY: Record<number, string> = {
  [MessageItemType.IMAGE]: '[图片]',
  [MessageItemType.VOICE]: '[语音]',
  [MessageItemType.FILE]: '[文件]',
  [MessageItemType.VIDEO]: '[视频]',
};

/** The `title` of a full-form quote: the quoted text, shortened, or a media label. */
function summaryOf(items: MessageItem[], text: string | undefined): string {
  if (text !== undefined) {
    const chars = [...text];
    return chars.length > SUMMARY_CHARS ? `${chars.slice(0, SUMMARY_CHARS).join('')}…` : text;
  }
  const first = items[0];
  const label = (first?.type !== undefined && MEDIA_SUMMARY[first.type]) || '[消息]';
  const fileName = first?.file_item?.file_name;
  return fileName ? `${label} ${fileName}` : label;
}
