/**
 * Outbound messages (§6): exactly one item per sendmessage, from_user_id "",
 * a fresh client_id per request, run_id per reply run, message_type BOT and
 * message_state FINISH, and the right context token.
 *
 * On the real server's terms (§10): a send the reply window or the budget
 * would refuse fails before any request (or waits in the outbox, with
 * `whenClosed: 'queue'`); "rate limited" is waited out with growing delays;
 * the sends to one user go one after another, so the parts of two sends never
 * interleave, while different users go side by side.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from './clock';
import { ContextTokenError, ILinkError, NoContextTokenError, RateLimitedError, ValidationError } from './errors';
import { textItem, toWireItem } from './messages';
import type { Item, Message } from './model';
import { assertCanSend, DEFAULT_REPLY_WINDOW_RULES, replyWindowOf, ReplyWindowError, type ReplyWindow, type ReplyWindowRules } from './reply-window';
import { checkedContinuationHint, expandParts, fitToBudget } from './long-answer';
import type { BotState, OutboxEntry } from './store';
import { filterOutboundText } from './text';
import type { Transport } from './transport';
import { MessageItemType, MessageState, MessageType, type MessageItem, type SendMessageResponse, type WeixinMessage } from './wire';

export const DEFAULT_CLIENT_ID_PREFIX = 'wechat-ilink';

/** What a caller may send: text, friendly items, or wire items (for example from media upload). */
export type OutboundContent = string | Item | MessageItem | ReadonlyArray<string | Item | MessageItem>;

export interface SendOptions {
  /** The context token to echo; default: the stored one for the recipient. */
  contextToken?: string;
  /** Send even when no context token is known (the official client does, with a warning). */
  allowWithoutContextToken?: boolean;
  /** run_id shared by every message of one reply run. */
  runId?: string;
  /** Apply the markdown filter to text (default true, §6). */
  markdown?: boolean;
  /**
   * When the reply window is closed or too few messages are left of the
   * budget: 'fail' (default) throws ReplyWindowError before any request;
   * 'queue' keeps the send in the outbox and sends it, in order, when the
   * user next writes.
   */
  whenClosed?: 'fail' | 'queue';
  /**
   * An answer that needs more messages than are left of the budget: 'all'
   * (default) fails like any send the budget would refuse (or queues whole,
   * with whenClosed 'queue'); 'fit' sends what fits, the last message ending
   * with `continuationHint`, and keeps the rest in the outbox for the user's
   * next message (cut to fit that budget in turn).
   */
  longAnswers?: 'all' | 'fit';
  /** The words that end the last message that fits (default DEFAULT_CONTINUATION_HINT). */
  continuationHint?: string;
  signal?: AbortSignal;
}

export interface SendResult {
  /** Server message ID (uint64 as a string); "" when the server sent none, or the send was queued. */
  messageId: string;
  /** Our client_id for the request; the official client uses it as the local message ID. */
  clientId: string;
  /** The wire item type that was sent. */
  itemType: number;
  /** Set when the send went into the outbox instead: its ID there. */
  queuedAs?: string;
}

/** How "rate limited" answers are waited out (§10): a retry after each delay, within `maxTotalMs`. */
export interface RateLimitRetry {
  delaysMs: number[];
  maxTotalMs: number;
}

export const DEFAULT_RATE_LIMIT_RETRY: RateLimitRetry = { delaysMs: [2_000, 5_000, 15_000, 30_000, 60_000], maxTotalMs: 120_000 };

export interface SenderOptions {
  clientIdPrefix?: string;
  clock?: Clock;
  rules?: Partial<ReplyWindowRules>;
  rateLimitRetry?: Partial<RateLimitRetry>;
}

/** Thrown when a multi-part send fails part-way: `sent` lists what did go out. */
export class PartialSendError extends ILinkError {
  constructor(
    readonly failure: Error,
    readonly sent: SendResult[],
  ) {
    super(`${failure.message} (${sent.length} earlier part(s) were already sent)`, { cause: failure });
  }
}

/** `<prefix>:<unix-ms>-<8 hex chars from 4 random bytes>` (§6). */
export function makeClientId(prefix = DEFAULT_CLIENT_ID_PREFIX, now = Date.now()): string {
  return `${prefix}:${now}-${randomInt(0, 2 ** 32).toString(16).padStart(8, '0')}`;
}

function isWireItem(value: Item | MessageItem): value is MessageItem {
  return typeof (value as Item).wireType !== 'number' && typeof value.type !== 'string';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return 'a Buffer (send files with sendMedia, or the media operation of your node)';
  if (Array.isArray(value)) return 'a nested list';
  return typeof value === 'object' ? 'an object that is not a message item' : `a ${typeof value} (${String(value).slice(0, 40)})`;
}

/** What a bot can send: text and media, and an agent's progress notes (§9). */
const OUTBOUND_TYPES: ReadonlySet<number> = new Set([
  MessageItemType.TEXT,
  MessageItemType.IMAGE,
  MessageItemType.FILE,
  MessageItemType.VIDEO,
  MessageItemType.TOOL_CALL_START,
  MessageItemType.TOOL_CALL_RESULT,
]);

/** Flattens content into single wire items; text is filtered and split at 4000 characters. Bad content fails here, before any request. */
export function toOutboundItems(content: OutboundContent, markdown = true): MessageItem[] {
  return expandParts(toOutboundParts(content, markdown));
}

/** Like toOutboundItems, with each text filtered but not yet split (the parts of a long answer). */
function toOutboundParts(content: OutboundContent, markdown: boolean): MessageItem[] {
  if (content === undefined || content === null) throw new ValidationError('nothing to send: give a text or at least one item');
  const parts = Array.isArray(content) ? content : [content as string | Item | MessageItem];
  const items: MessageItem[] = [];
  for (const part of parts as unknown[]) {
    if (typeof part === 'string') {
      items.push(textItem(filterOutboundText(part, { markdown })));
      continue;
    }
    if (!part || typeof part !== 'object' || Buffer.isBuffer(part) || Array.isArray(part)) {
      throw new ValidationError(`cannot send ${describeValue(part)}: give text, or an item from an upload or a received message`);
    }
    const candidate = part as Item | MessageItem;
    const wire = isWireItem(candidate) ? candidate : toWireItem(candidate);
    const type = wire.type ?? MessageItemType.NONE;
    if (type === MessageItemType.VOICE) {
      throw new ValidationError('a bot cannot send a voice bubble (the chat never shows it, §10): send the audio as a file (media type "file")');
    }
    if (!OUTBOUND_TYPES.has(type)) throw new ValidationError(`cannot send an item of type ${type}: a bot sends text, image, video or file items (or tool-call notes)`);
    if (wire.ref_msg) {
      // No official client sends a quote and the server's handling of one is unknown: refuse rather than drop it.
      throw new ValidationError('a bot cannot send a quote over iLink (no client does, and the server may drop it): put the quoted words in the text instead');
    }
    if (type === MessageItemType.TEXT) {
      items.push(textItem(filterOutboundText(wire.text_item?.text ?? '', { markdown })));
    } else {
      items.push(wire);
    }
  }
  if (items.length === 0) throw new ValidationError('nothing to send: give a text or at least one item');
  return items;
}

/**
 * Per state, per recipient: the end of the chain of sends to them. Kept by
 * state, not by sender, so that every client on one bot's state (an n8n
 * trigger and the action nodes share one) checks the budget and sends to a
 * user one after another.
 */
const chainsByState = new WeakMap<BotState, Map<string, Promise<unknown>>>();

export class MessageSender {
  private readonly runIds = new Map<string, string>();
  private readonly chains: Map<string, Promise<unknown>>;
  private readonly clientIdPrefix: string;
  private readonly clock: Clock;
  readonly rules: ReplyWindowRules;
  private readonly retry: RateLimitRetry;

  constructor(
    private readonly transport: Transport,
    private readonly state: BotState,
    options: SenderOptions | string = {},
  ) {
    const settings = typeof options === 'string' ? { clientIdPrefix: options } : options;
    let chains = chainsByState.get(state);
    if (!chains) {
      chains = new Map();
      chainsByState.set(state, chains);
    }
    this.chains = chains;
    this.clientIdPrefix = settings.clientIdPrefix ?? DEFAULT_CLIENT_ID_PREFIX;
    this.clock = settings.clock ?? systemClock;
    this.rules = { ...DEFAULT_REPLY_WINDOW_RULES, ...settings.rules };
    this.retry = { ...DEFAULT_RATE_LIMIT_RETRY, ...settings.rateLimitRetry };
  }

  /**
   * The user's reply window as this bot knows it: open, closes at, messages
   * left, last wrote at. The budget is that of `contextToken` (each user
   * message's token has its own), by default the token of their latest message.
   */
  replyWindow(userId: string, contextToken?: string): ReplyWindow {
    const record = this.state.windowRecord(userId);
    const token = contextToken || this.state.contextToken(userId) || record?.token;
    return replyWindowOf(userId, record, this.state.budget(token), this.rules, this.clock.now());
  }

  /** Sends content to a user: one sendmessage per item, in order, after any earlier send to them. */
  async send(to: string, content: OutboundContent, options: SendOptions = {}): Promise<SendResult[]> {
    const recipient = typeof to === 'string' ? to.trim() : '';
    if (!recipient) throw new ValidationError('no recipient: give the user ID to send to (it looks like …@im.wechat)');
    const parts = toOutboundParts(content, options.markdown !== false);
    if (options.longAnswers === 'fit') {
      const hint = checkedContinuationHint(options.continuationHint);
      return this.inOrder(recipient, () => this.sendFitted(recipient, parts, hint, options), options.signal);
    }
    const items = expandParts(parts);
    return this.inOrder(recipient, () => this.sendNow(recipient, items, options), options.signal);
  }

  /** Replies to an inbound message with its own context token, under one run_id per message. */
  async reply(message: Message, content: OutboundContent, options: Omit<SendOptions, 'contextToken'> = {}): Promise<SendResult[]> {
    return this.send(message.from, content, {
      ...options,
      contextToken: message.contextToken,
      runId: options.runId ?? this.runIdFor(message),
    });
  }

  /**
   * Sends what waits in the outbox for this user, oldest first, as far as the
   * budget allows; what does not fit waits for their next message. Call when
   * the user has written (the poller does). Returns what was sent.
   */
  async flushOutbox(userId: string, contextToken?: string): Promise<SendResult[]> {
    // A state shared with other processes may hold what they queued: it is read in the user's turn.
    if (!this.state.shared && this.state.outbox(userId).length === 0) return [];
    return this.inOrder(userId, async () => {
      const results: SendResult[] = [];
      const token = contextToken || this.state.contextToken(userId);
      for (const entry of this.state.outbox(userId)) {
        const window = this.replyWindow(userId, token);
        if (!window.open) break;
        if (entry.continuationHint !== undefined) {
          // The rest of a long answer: what fits now, and the rest again for the next message.
          const { now, rest } = fitToBudget(entry.items, window.sendsLeft, entry.continuationHint);
          results.push(...(await this.sendItems(userId, now, token, {})));
          if (rest.length > 0) {
            this.state.queue({ ...entry, items: rest });
            break;
          }
          this.state.unqueue(entry.id);
          continue;
        }
        if (entry.items.length > window.sendsLeft) break;
        // Sent whole or not at all: an entry leaves the outbox only when every part went out.
        results.push(...(await this.sendItems(userId, entry.items, token, {})));
        this.state.unqueue(entry.id);
      }
      return results;
    });
  }

  /** Removes a user's queued sends (all users' without an argument); returns how many. */
  clearOutbox(userId?: string): number {
    const entries = this.state.outbox(userId);
    for (const entry of entries) this.state.unqueue(entry.id);
    return entries.length;
  }

  /**
   * Whether `count` messages to this user may go out now: 'send', or 'queue'
   * (with whenClosed 'queue'); otherwise throws NoContextTokenError or
   * ReplyWindowError. Media sends ask before uploading.
   */
  preflight(to: string, count: number, options: SendOptions = {}): 'send' | 'queue' {
    try {
      const token = options.contextToken || this.state.contextToken(to);
      if (!token && !options.allowWithoutContextToken) throw new NoContextTokenError(to);
      assertCanSend(this.replyWindow(to, token), count, this.rules, this.clock.now());
      return 'send';
    } catch (error) {
      if (options.whenClosed === 'queue' && (error instanceof ReplyWindowError || error instanceof NoContextTokenError)) return 'queue';
      throw error;
    }
  }

  private async sendNow(to: string, items: MessageItem[], options: SendOptions): Promise<SendResult[]> {
    if (this.preflight(to, items.length, options) === 'queue') return this.enqueue(to, items);
    return this.sendItems(to, items, options.contextToken || this.state.contextToken(to), options);
  }

  /**
   * A long answer: what the budget allows now (the last message ending with
   * the hint), the rest into the outbox. A window closed by time, or an
   * unknown user, is handled as any send (whenClosed); a spent budget sends
   * nothing now and queues it all.
   */
  private async sendFitted(to: string, parts: MessageItem[], hint: string, options: SendOptions): Promise<SendResult[]> {
    const items = expandParts(parts);
    const token = options.contextToken || this.state.contextToken(to);
    const window = this.replyWindow(to, token);
    const spent = window.closedBy === 'budget' || (window.open && items.length > window.sendsLeft);
    if (!spent || !token) return this.sendNow(to, items, options);
    const { now, rest } = fitToBudget(parts, window.sendsLeft, hint);
    const sent = now.length > 0 ? await this.sendItems(to, now, token, options) : [];
    return [...sent, ...this.enqueue(to, rest, hint)];
  }

  private enqueue(to: string, items: MessageItem[], continuationHint?: string): SendResult[] {
    const entry: OutboxEntry = { id: randomUUID(), to, items, queuedAt: this.clock.now() };
    if (continuationHint !== undefined) entry.continuationHint = continuationHint;
    this.state.queue(entry);
    const messages = continuationHint === undefined ? items : expandParts(items);
    return messages.map((item) => ({ messageId: '', clientId: '', itemType: item.type ?? 0, queuedAs: entry.id }));
  }

  private async sendItems(to: string, items: MessageItem[], contextToken: string | undefined, options: SendOptions): Promise<SendResult[]> {
    const results: SendResult[] = [];
    for (const item of items) {
      try {
        results.push(await this.sendOne(to, item, contextToken, options));
      } catch (error) {
        if (results.length === 0) throw error;
        throw new PartialSendError(error as Error, results);
      }
    }
    return results;
  }

  /**
   * Runs `work` after every earlier send to this recipient has finished, in
   * this process and (for a shared state) in every other one, on the state as
   * they left it.
   */
  private inOrder<T>(recipient: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.chains.get(recipient) ?? Promise.resolve();
    const turn = () => {
      // Cancelled while it waited its turn: it neither goes out nor lands in the outbox.
      signal?.throwIfAborted();
      return this.state.forUser(recipient, work, signal);
    };
    const run = previous.then(turn, turn);
    const tail = run.catch(() => undefined);
    this.chains.set(recipient, tail);
    void tail.then(() => {
      if (this.chains.get(recipient) === tail) this.chains.delete(recipient);
    });
    return run;
  }

  private runIdFor(message: Message): string {
    // Without an ID or a time nothing tells two messages of the user apart: each reply is its own run.
    if (!message.messageId && message.createTime === undefined) return randomUUID();
    const key = message.messageId || `${message.from}:${message.createTime}`;
    let runId = this.runIds.get(key);
    if (!runId) {
      runId = randomUUID();
      this.runIds.set(key, runId);
      if (this.runIds.size > 500) this.runIds.delete(this.runIds.keys().next().value as string);
    }
    return runId;
  }

  private async sendOne(to: string, item: MessageItem, contextToken: string | undefined, options: SendOptions): Promise<SendResult> {
    const clientId = makeClientId(this.clientIdPrefix);
    const msg: WeixinMessage = {
      from_user_id: '',
      to_user_id: to,
      client_id: clientId,
      message_type: MessageType.BOT,
      message_state: MessageState.FINISH,
      item_list: [item],
    };
    if (contextToken) msg.context_token = contextToken;
    if (options.runId) msg.run_id = options.runId;
    const response = await this.postWithRateLimitRetry(msg, options.signal);
    // message_id is a uint64 the transport already turned into a decimal string; anything else is ignored.
    const raw: unknown = response.message_id;
    const messageId = typeof raw === 'string' && /^\d+$/.test(raw) ? raw : typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : '';
    // One write: the budget spent, and the message kept for a user who quotes it later by its ID only (§10).
    this.state.batch(() => {
      this.state.noteSent(contextToken, 1);
      if (messageId) this.state.rememberSent(messageId, item);
    });
    return { messageId, clientId, itemType: item.type ?? 0 };
  }

  /** One sendmessage; "rate limited" is retried after growing delays (same client_id); another -2 spends the token here too. */
  private async postWithRateLimitRetry(msg: WeixinMessage, signal: AbortSignal | undefined): Promise<SendMessageResponse> {
    const started = this.clock.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transport.post<SendMessageResponse>('sendMessage', { msg }, { signal });
      } catch (error) {
        if (error instanceof RateLimitedError) {
          const delay = this.retry.delaysMs[attempt];
          const waited = this.clock.now() - started;
          if (delay === undefined || waited + delay > this.retry.maxTotalMs) {
            throw new RateLimitedError('sendmessage', error, `gave up after ${attempt + 1} attempt(s) over ${Math.round(waited / 1000)} s`);
          }
          await this.clock.sleep(delay, signal);
          continue;
        }
        // The server's -2 on a send: this token is spent (or the window closed) until the user writes again.
        if (error instanceof ContextTokenError) this.state.noteRefused(msg.context_token);
        throw error;
      }
    }
  }
}
