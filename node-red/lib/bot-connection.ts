/**
 * What an ilink-config node owns at runtime: the ILinkClient for its bot, the
 * one long poller (10-mqtt pattern: receiving nodes register; the poller
 * starts with the first and stops with the last), and the typing keepalives.
 *
 * Message state (cursor, the inbox of fetched messages not yet handled,
 * context tokens, reply windows, outbox, dedupe window) lives in a file under
 * the Node-RED user directory, so a restart neither loses nor repeats messages.
 */
import { join } from 'node:path';
import {
  ILinkClient,
  PollerConflictError,
  SessionExpiredError,
  ValidationError,
  safeAccountId,
  botKeyFor,
  type LoginCredentials,
  type Logger,
  type Message,
  type Poller,
  type PollerStatus,
  type PollerTimings,
  type ReplyWindow,
  pollerTimingsFromEnv,
} from '../../shared';

export interface BotSettings {
  baseUrl?: string;
  botId?: string;
  ownerUserId?: string;
  cdnBaseUrl?: string;
  routeTag?: string;
  botAgent?: string;
}

/** What receiving nodes show; each node maps it to its own i18n status. */
export type ConnectionState = 'not-logged-in' | 'connecting' | 'polling' | 'retrying' | 'session-expired' | 'conflict' | 'stopped';

/** A node that wants inbound messages (ilink-in). */
export interface Receiver {
  /** Rejects only when the receiver was closed while handling the message (it was then not handled). */
  handle(message: Message): Promise<void>;
  onState(state: ConnectionState, detail?: string): void;
  /** The poller ended for good (session expired, another poller holds the bot). */
  onFatal(error: Error): void;
  /** How long before a user's reply window closes this receiver wants onWindowClosing (0 or absent: never). */
  windowClosingLeadMs?: number;
  onWindowClosing?(window: ReplyWindow): void;
}

export interface BotConnectionOptions {
  settings: BotSettings;
  token?: string;
  /** Folder for the state files; without one, state is kept in memory only. */
  stateDir?: string;
  logger: Logger;
  /** Shown to a second poller that is refused, e.g. 'Node-RED config node "My bot" (id)'. */
  owner: string;
}

type TypingHandle = { stop(): Promise<void> };

export class NotLoggedInError extends ValidationError {
  constructor() {
    super('not logged in: open the WeChat iLink config node, click "Log in with WeChat", scan the QR code, then deploy');
  }
}

export class BotConnection {
  private settings: BotSettings;
  private clientValue: ILinkClient | undefined;
  private readonly receivers = new Set<Receiver>();
  private poller: Poller | undefined;
  /** Settles when the current poller has fully stopped (claim released, state saved). */
  private stopping: Promise<void> = Promise.resolve();
  private stateValue: ConnectionState;
  private detail: string | undefined;
  private readonly typing = new Map<string, { handle: TypingHandle; timer?: NodeJS.Timeout }>();
  private closed = false;
  private startQueued = false;

  constructor(private readonly options: BotConnectionOptions) {
    this.settings = options.settings;
    this.clientValue = this.buildClient(options.token);
    this.stateValue = this.clientValue ? 'stopped' : 'not-logged-in';
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get ownerUserId(): string | undefined {
    return this.settings.ownerUserId || undefined;
  }

  /** The client, or a NotLoggedInError that tells the user what to do. */
  get client(): ILinkClient {
    if (!this.clientValue) throw new NotLoggedInError();
    return this.clientValue;
  }

  get hasClient(): boolean {
    return this.clientValue !== undefined;
  }

  register(receiver: Receiver): void {
    this.receivers.add(receiver);
    receiver.onState(this.stateValue, this.detail);
    // Started on the next turn: the other nodes of the flow (Catch nodes above all)
    // exist by then, so an error raised at start reaches them.
    if (this.startQueued) return;
    this.startQueued = true;
    setImmediate(() => {
      this.startQueued = false;
      if (this.receivers.size > 0 && !this.poller) this.startPolling();
    });
  }

  /** Removes a receiver; with the last one gone, the poller stops before `done`. */
  deregister(receiver: Receiver, done: () => void): void {
    this.receivers.delete(receiver);
    if (this.receivers.size > 0) {
      done();
      return;
    }
    this.stopPolling().then(done, done);
  }

  /**
   * A new login for this config node (from the editor's login button): use the
   * new token at once, so a bot whose session expired receives again without
   * waiting for the deploy.
   */
  async adoptLogin(credentials: LoginCredentials): Promise<void> {
    if (this.closed) return;
    await this.stopPolling();
    this.settings = { ...this.settings, baseUrl: credentials.baseUrl, botId: credentials.botId, ownerUserId: credentials.userId };
    this.clientValue = this.buildClient(credentials.token);
    if (this.receivers.size > 0) this.startPolling();
  }

  /** Shows "typing…" to a user until stopTyping() or `timeoutMs`. */
  startTyping(userId: string, contextToken: string | undefined, timeoutMs: number): void {
    const client = this.client;
    void this.stopTyping(userId);
    const handle = client.typing.start(userId, { contextToken: contextToken ?? client.state.contextToken(userId) });
    const entry: { handle: TypingHandle; timer?: NodeJS.Timeout } = { handle };
    if (timeoutMs > 0) {
      // Never leave "typing…" on forever when a flow forgets to stop it.
      entry.timer = setTimeout(() => void this.stopTyping(userId), timeoutMs);
      entry.timer.unref?.();
    }
    this.typing.set(userId, entry);
  }

  async stopTyping(userId: string): Promise<boolean> {
    const entry = this.typing.get(userId);
    if (!entry) return false;
    this.typing.delete(userId);
    if (entry.timer) clearTimeout(entry.timer);
    await entry.handle.stop();
    return true;
  }

  isTyping(userId: string): boolean {
    return this.typing.has(userId);
  }

  /** Config node close: typing off, poller stopped (in-flight poll aborted). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.typing.keys()].map((user) => this.stopTyping(user).catch(() => false)));
    await this.stopPolling();
    this.receivers.clear();
  }

  private buildClient(token: string | undefined): ILinkClient | undefined {
    if (!token?.trim()) return undefined;
    const s = this.settings;
    return new ILinkClient({
      token,
      baseUrl: s.baseUrl?.trim() || undefined,
      botId: s.botId?.trim() || undefined,
      ownerUserId: s.ownerUserId?.trim() || undefined,
      cdnBaseUrl: s.cdnBaseUrl?.trim() || undefined,
      routeTag: s.routeTag?.trim() || undefined,
      botAgent: s.botAgent?.trim() || undefined,
      state: this.statePath(token),
      logger: this.options.logger,
    });
  }

  private statePath(token: string): string | undefined {
    if (!this.options.stateDir) return undefined;
    // Same key as the client's poller claim: the bot ID, else a hash of the token (never the token).
    return join(this.options.stateDir, `${safeAccountId(botKeyFor(this.settings.botId, token))}.json`);
  }

  private setState(state: ConnectionState, detail?: string): void {
    if (state === this.stateValue && detail === this.detail) return;
    this.stateValue = state;
    this.detail = detail;
    for (const receiver of this.receivers) receiver.onState(state, detail);
  }

  private startPolling(): void {
    if (this.closed || this.poller) return;
    if (!this.clientValue) {
      this.setState('not-logged-in');
      const error = new NotLoggedInError();
      for (const receiver of this.receivers) receiver.onFatal(error);
      return;
    }
    const client = this.clientValue;
    let timings: Partial<PollerTimings> | undefined;
    try {
      timings = pollerTimingsFromEnv();
    } catch (error) {
      for (const receiver of this.receivers) receiver.onFatal(error as Error);
      return;
    }
    // One watch per bot: the longest lead any receiver asked for.
    const leadMs = Math.max(0, ...[...this.receivers].map((receiver) => receiver.windowClosingLeadMs ?? 0));
    const poller = client.createPoller((message) => this.deliver(message), {
      owner: this.options.owner,
      timings,
      windowClosing:
        leadMs > 0
          ? {
              leadMs,
              onClosing: (window) => {
                for (const receiver of this.receivers) if (receiver.windowClosingLeadMs) receiver.onWindowClosing?.(window);
              },
            }
          : undefined,
      onSessionExpired: 'stop',
      onStatus: (status, detail) => this.onPollerStatus(status, detail),
    });
    this.poller = poller;
    // A previous poller of this bot may still be finishing (claim not yet released).
    const previous = this.stopping;
    const run = previous.then(() => {
      if (this.poller !== poller) return;
      try {
        return poller.start();
      } catch (error) {
        return Promise.reject(error);
      }
    });
    this.stopping = run.then(
      () => undefined,
      (error: unknown) => this.onPollerEnded(poller, error),
    );
  }

  private async stopPolling(): Promise<void> {
    const poller = this.poller;
    this.poller = undefined;
    if (poller) await poller.stop();
    await this.stopping;
  }

  private async deliver(message: Message): Promise<void> {
    // Every receiver gets every message and applies its own filter.
    let cutShort: { error: unknown } | undefined;
    for (const receiver of [...this.receivers]) {
      try {
        await receiver.handle(message);
      } catch (error) {
        // Closed while handling it (a redeploy cancelled its download): the message did not reach that node.
        if (!this.receivers.has(receiver)) cutShort = { error };
        else this.options.logger.warn(`a receiving node failed on message ${message.messageId}: ${(error as Error).message}`);
      }
    }
    // The last receiver went away mid-message, so the poller is stopping: failing here tells it the
    // message was not handled, and the next poller (after the redeploy) delivers it.
    if (cutShort && this.receivers.size === 0) throw cutShort.error;
    // node.send() hands the msg on at the next setImmediate. Yield once, so the flow's
    // first step (usually the reply's request) starts before the poller writes its
    // journal line and opens the next long poll: that work was on every reply's path.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private onPollerStatus(status: PollerStatus, detail?: string): void {
    switch (status) {
      case 'starting':
        this.setState('connecting');
        break;
      case 'polling':
        this.setState('polling');
        break;
      case 'retrying':
        this.setState('retrying', detail);
        break;
      case 'session-expired':
        this.setState('session-expired', detail);
        break;
      case 'stopped':
        if (this.stateValue !== 'session-expired' && this.stateValue !== 'conflict') this.setState('stopped');
        break;
      default:
        break;
    }
  }

  private onPollerEnded(poller: Poller, error: unknown): void {
    if (this.poller === poller) this.poller = undefined;
    const failure = error instanceof Error ? error : new Error(String(error));
    if (failure instanceof SessionExpiredError) this.setState('session-expired', failure.message);
    else if (failure instanceof PollerConflictError) this.setState('conflict', failure.message);
    else this.setState('stopped', failure.message);
    for (const receiver of this.receivers) receiver.onFatal(failure);
  }
}
