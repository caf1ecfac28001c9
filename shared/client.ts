/**
 * ILinkClient: the public facade, shaped like the seed's Client (NewClient,
 * ListenAndServe, Send, Reply, SendTyping, RecallMessage) in TypeScript idiom.
 * Hosts (n8n, Node-RED) and scripts use only this and the exported types.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { systemClock, type Clock } from './clock';
import { ApiError, ILinkError, SessionExpiredError, ValidationError } from './errors';
import { redactingLogger, silentLogger, stderrLogger, type Logger } from './log';
import type { LoginCredentials } from './login';
import { buildMediaItem, downloadMedia, MediaError, pickMediaItem, uploadMedia, type DownloadedMedia, type DownloadOptions, type UploadedMedia, type UploadOptions, type UploadSource } from './media';
import type { Item, Message } from './model';
import { isUploadedMedia } from './outbound-parts';
import { Poller, type MessageHandler, type PollerOptions } from './poller';
import { MessageSender, type OutboundContent, type RateLimitRetry, type SendOptions, type SendResult } from './send';
import type { ReplyWindow, ReplyWindowRules } from './reply-window';
import { BotState, FileStateStore, MemoryStateStore, type OutboxEntry, type StateStore } from './store';
import { Transport, type TransportOptions } from './transport';
import { endTypingFor, TypingIndicator, TypingSessions, TypingTicketCache, type TypingOptions } from './typing';
import { WindowClosingWatch, type WindowClosingOptions } from './window-watch';
import { DEFAULT_CDN_BASE, type RecallMessageResponse } from './wire';

export interface ClientOptions extends TransportOptions {
  /** The bot token from the QR login. Required. */
  token: string;
  /** The bot's ID (…@im.bot). Used to name state and to keep one poller per bot. */
  botId?: string;
  /** The WeChat user who logged the bot in. */
  ownerUserId?: string;
  /** CDN base for media (§0). */
  cdnBaseUrl?: string;
  /** Size cap for media upload and download in bytes (default 100 MiB, §7). */
  maxMediaBytes?: number;
  /** Where cursor, context tokens and the dedupe window live: a store, a ready BotState, or a JSON file path. Default: memory. */
  state?: StateStore | BotState | string;
  /** Prefix of client_id values (§6). */
  clientIdPrefix?: string;
  clock?: Clock;
  /** The server's sending rules (§10): 24 h after the user's last message, 10 messages per user message. */
  replyWindow?: Partial<ReplyWindowRules>;
  /** How "rate limited" answers are waited out (§10). */
  rateLimitRetry?: Partial<RateLimitRetry>;
}

/** For sendMedia/replyMedia: the file name (sets the type), an explicit type, a caption sent first. */
export type MediaSendOptions = Partial<Pick<UploadOptions, 'fileName' | 'mediaType'>> & { caption?: string };

export type ListenOptions = Omit<PollerOptions, 'transport' | 'state' | 'handler' | 'clock' | 'logger' | 'beforeHandle'> & {
  signal?: AbortSignal;
  /** Who is polling, shown to a second poller that is refused (for example "n8n workflow 12"). */
  owner?: string;
  /** An event a set time before each user's reply window closes (while receiving). */
  windowClosing?: WindowClosingOptions;
};

export class ILinkClient {
  readonly transport: Transport;
  readonly state: BotState;
  readonly botId: string | undefined;
  readonly ownerUserId: string | undefined;
  /** A stable key for this bot: its ID, or a hash of the token (never the token itself). */
  readonly botKey: string;
  readonly cdnBaseUrl: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly typing: TypingIndicator;
  /** "typing…" per user, started in one call and ended in another; a message sent to the user ends it. */
  readonly typingSessions: TypingSessions;
  readonly maxMediaBytes: number | undefined;
  private readonly sender: MessageSender;
  private readonly dispatcher: ClientOptions['dispatcher'];
  /** Every key a receiver of this bot claims: the bot ID, the token's hash, the state file. */
  private readonly receiverKeys: string[];
  /** Where handler errors go when the caller gave no logger (never silent). */
  private readonly unhandledErrorLogger: Logger | undefined;
  private sessionBlocked: SessionExpiredError | undefined;

  constructor(options: ClientOptions) {
    const token = options.token?.trim();
    if (!token) throw new ILinkError('no bot token: log in with the QR code first and store the token in the credential');
    this.logger = redactingLogger(options.logger ?? silentLogger, () => [token]);
    this.unhandledErrorLogger = options.logger ? undefined : redactingLogger(stderrLogger, () => [token]);
    this.transport = new Transport({ ...options, token, logger: this.logger });
    this.botId = options.botId || undefined;
    this.botKey = botKeyFor(this.botId, token);
    this.ownerUserId = options.ownerUserId || undefined;
    this.cdnBaseUrl = options.cdnBaseUrl?.trim() || DEFAULT_CDN_BASE;
    this.maxMediaBytes = options.maxMediaBytes;
    this.dispatcher = options.dispatcher;
    this.clock = options.clock ?? systemClock;
    this.state = toBotState(options.state);
    // A client built from the same token without the bot ID still meets this bot's claim (by the token's hash).
    this.receiverKeys = [this.botKey, tokenKey(token)];
    if (typeof options.state === 'string') this.receiverKeys.push(`state-file:${resolve(options.state)}`);
    this.sender = new MessageSender(this.transport, this.state, {
      clientIdPrefix: options.clientIdPrefix,
      clock: this.clock,
      rules: options.replyWindow,
      rateLimitRetry: options.rateLimitRetry,
    });
    this.typing = new TypingIndicator(this.transport, new TypingTicketCache(this.transport, this.clock), this.clock, this.logger);
    this.typingSessions = new TypingSessions(this.typing, { clock: this.clock, contextTokenOf: (user) => this.state.contextToken(user), group: this.state });
  }

  /** A client for the account a login returned (uses its baseurl). */
  static fromLogin(credentials: LoginCredentials, options: Omit<ClientOptions, 'token'> = {}): ILinkClient {
    return new ILinkClient({
      baseUrl: credentials.baseUrl,
      botId: credentials.botId,
      ownerUserId: credentials.userId,
      ...options,
      token: credentials.token,
    });
  }

  /**
   * Long-polls and calls the handler for each new message, until the signal
   * aborts (resolves) or, by default, the session expires (rejects with
   * SessionExpiredError). The seed's ListenAndServe.
   */
  async listen(handler: MessageHandler, options: ListenOptions = {}): Promise<void> {
    const { signal, ...pollerOptions } = options;
    if (signal?.aborted) return;
    const poller = this.createPoller(handler, pollerOptions);
    const onAbort = () => void poller.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await poller.start();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A single-use poller for this bot. Only one may run per bot in this process:
   * a second one fails at start() with a clear message.
   */
  createPoller(handler: MessageHandler, options: Omit<ListenOptions, 'signal'> = {}): Poller {
    const { owner, windowClosing, ...rest } = options;
    const watch = windowClosing ? new WindowClosingWatch((user) => this.replyWindow(user), this.clock, windowClosing) : undefined;
    return new Poller({
      ...rest,
      transport: this.transport,
      state: this.state,
      handler,
      clock: this.clock,
      logger: this.logger,
      unhandledErrorLogger: this.unhandledErrorLogger,
      exclusive: { botKeys: this.receiverKeys, owner: owner ?? `a listener in process ${process.pid}` },
      // The user wrote: what waited for that goes out first, in their turn, then the window event moves.
      beforeHandle: async (message) => {
        watch?.watch(message.from);
        await this.sender.flushOutbox(message.from, message.contextToken);
      },
      onStatus: (status, detail) => {
        // While the session is expired (or paused after -14), outbound sends are refused (§5.4).
        if (status === 'polling') this.sessionBlocked = undefined;
        if (status === 'session-expired' || status === 'paused') this.sessionBlocked = new SessionExpiredError('getupdates', { errcode: -14 });
        if (status === 'starting' && watch) for (const user of this.state.windowUsers()) watch.watch(user);
        if (status === 'stopped' || status === 'session-expired') watch?.stop();
        options.onStatus?.(status, detail);
      },
    });
  }

  /**
   * The user's reply window as this bot knows it (§10): open, when it closes,
   * messages left of the budget, when they last wrote. `known: false` when
   * this bot has no record of their last message (then the server decides).
   * Each user message's context token has its own budget: give a message's
   * token for what a reply to it may send (default: their latest message's).
   */
  replyWindow(userId: string, contextToken?: string): ReplyWindow {
    return this.sender.replyWindow(userId, contextToken);
  }

  /** Sends queued with `whenClosed: 'queue'`, oldest first; one user's when given. */
  outbox(userId?: string): OutboxEntry[] {
    return this.state.outbox(userId);
  }

  /** Drops queued sends (one user's when given); returns how many. */
  clearOutbox(userId?: string): number {
    return this.sender.clearOutbox(userId);
  }

  /** Sends text and/or items to a user (§6). Text is filtered and split at 4000 characters. */
  async send(to: string, content: OutboundContent, options: SendOptions = {}): Promise<SendResult[]> {
    this.assertSessionUsable();
    return this.endingTyping(to, await this.sender.send(to, content, options));
  }

  /** Replies to an inbound message, echoing its context token. */
  async reply(message: Message, content: OutboundContent, options: Omit<SendOptions, 'contextToken'> = {}): Promise<SendResult[]> {
    this.assertSessionUsable();
    return this.endingTyping(message.from, await this.sender.reply(message, content, options));
  }

  /** The answer is out: the user's "typing…" ends, whichever client of this bot started it (not awaited: the send is done). */
  private endingTyping(to: string, results: SendResult[]): SendResult[] {
    if (results.some((result) => !result.queuedAs)) void endTypingFor(this.state, to.trim());
    return results;
  }

  /** Shows (true) or hides (false) "typing…" for a user. Returns false when iLink gave no typing ticket. */
  async sendTyping(userId: string, typing: boolean, options: TypingOptions = {}): Promise<boolean> {
    return this.typing.set(userId, typing, { ...options, contextToken: options.contextToken ?? this.state.contextToken(userId) });
  }

  /** Shows "typing…" while `work` runs (repeated every 5 s), then hides it. */
  withTyping<T>(userId: string, work: () => Promise<T>, options: TypingOptions & { intervalMs?: number } = {}): Promise<T> {
    return this.typing.around(userId, work, { ...options, contextToken: options.contextToken ?? this.state.contextToken(userId) });
  }

  /**
   * Recalls a sent message by its server message ID. EXPERIMENTAL: only the
   * seed's Go SDK calls recallmessage; no official client does (§2).
   */
  async recall(messageId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const id = String(messageId ?? '').trim();
    if (!/^\d+$/.test(id)) {
      throw new ILinkError(`recall needs the numeric server message ID returned by a send, got "${id}"`);
    }
    try {
      await this.transport.post<RecallMessageResponse>('recallMessage', { msg_id: id }, { signal: options.signal });
    } catch (error) {
      if (error instanceof ApiError && !(error instanceof SessionExpiredError)) {
        throw new ApiError('recallmessage', error, `recall failed (experimental: iLink's recall endpoint is unverified): ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * Encrypts and uploads a file (Buffer, file path or stream) to the CDN and
   * returns the reference; send it with sendMedia or as an item via send().
   */
  async uploadMedia(source: UploadSource, options: UploadOptions): Promise<UploadedMedia> {
    this.assertSessionUsable();
    return uploadMedia({ transport: this.transport, cdnBaseUrl: this.cdnBaseUrl, maxBytes: this.maxMediaBytes, dispatcher: this.dispatcher }, source, options);
  }

  /**
   * Uploads and sends an image, video or file (type from the file name unless
   * given). A caption goes first, as its own text message (§6).
   */
  async sendMedia(to: string, source: UploadSource | UploadedMedia, options: MediaSendOptions & SendOptions = {}): Promise<SendResult[]> {
    const { caption, fileName, mediaType, ...sendOptions } = options;
    this.preflightMedia(to, caption, sendOptions);
    return this.send(to, await this.mediaContent(to, source, { caption, fileName, mediaType, signal: options.signal }), sendOptions);
  }

  /** Replies with media to an inbound message (its context token, one run_id). */
  async replyMedia(
    message: Message,
    source: UploadSource | UploadedMedia,
    options: MediaSendOptions & Omit<SendOptions, 'contextToken'> = {},
  ): Promise<SendResult[]> {
    const { caption, fileName, mediaType, ...sendOptions } = options;
    this.preflightMedia(message.from, caption, { ...sendOptions, contextToken: message.contextToken });
    return this.reply(message, await this.mediaContent(message.from, source, { caption, fileName, mediaType, signal: options.signal }), sendOptions);
  }

  /** A media send the window or budget would refuse fails before the upload, not after it. */
  private preflightMedia(to: string, caption: string | undefined, options: SendOptions): void {
    this.assertSessionUsable();
    if (!to?.trim()) return; // send() says what is missing
    this.sender.preflight(to.trim(), caption?.trim() ? 2 : 1, options);
  }

  /** Uploads when needed, then [caption?, media item]. */
  private async mediaContent(
    to: string,
    source: UploadSource | UploadedMedia,
    options: MediaSendOptions & { signal?: AbortSignal },
  ): Promise<OutboundContent> {
    const uploaded = isUploadedMedia(source)
      ? source
      : await this.uploadMedia(source, { fileName: options.fileName ?? defaultFileName(source), toUserId: to, mediaType: options.mediaType, signal: options.signal });
    const item = buildMediaItem(uploaded);
    return options.caption?.trim() ? [options.caption, item] : [item];
  }

  /**
   * Downloads and decrypts media: of one item, or of a message (the item the
   * official priority picks: image > video > file > voice, then a quoted one).
   */
  async downloadMedia(target: Message | Item, options: DownloadOptions = {}): Promise<DownloadedMedia> {
    const item = 'items' in target ? pickMediaItem(target.items) : target;
    if (!item) throw new MediaError('no_media', 'this message has no image, video, file or voice to download');
    return downloadMedia({ cdnBaseUrl: this.cdnBaseUrl, maxBytes: this.maxMediaBytes, dispatcher: this.dispatcher }, item, options);
  }

  private assertSessionUsable(): void {
    // While the session is expired, the official client refuses outbound sends (§5.4).
    if (this.sessionBlocked) throw new SessionExpiredError(this.sessionBlocked.endpoint, this.sessionBlocked);
  }
}

/** A stable key for a bot: its ID, or a hash of its token (never the token itself). */
export function botKeyFor(botId: string | undefined, token: string): string {
  return botId?.trim() || tokenKey(token);
}

function tokenKey(token: string): string {
  return `token-${createHash('sha256').update(token.trim()).digest('hex').slice(0, 16)}`;
}

function defaultFileName(source: UploadSource): string {
  if (typeof source === 'string') return basename(source);
  throw new ValidationError('give a fileName for media sent from a Buffer or a stream (it sets the media type and the name the user sees)');
}

function toBotState(state: ClientOptions['state']): BotState {
  if (state instanceof BotState) return state;
  if (typeof state === 'string') return new BotState(new FileStateStore(state));
  return new BotState(state ?? new MemoryStateStore());
}
