/**
 * The test-facing control panel: provision bots, play the WeChat user, drive
 * the phone during QR login, inject faults and inspect what clients sent.
 * admin-http.ts mirrors every method over HTTP for out-of-process hosts.
 */
import type { ApiScenario, SimContext } from './api/types';
import type { CdnFault } from './cdn';
import type { FaultSpec, PendingFault } from './faults';
import type { LoginScenario } from './login';
import type { RecordedRequest, RequestFilter } from './request-log';
import type { ReplyWindowView } from './send-rules';
import type {
  BotInfo,
  CreateBotOptions,
  Delivery,
  InjectedMessage,
  InjectMessageOptions,
  NotificationRecord,
  SentRecord,
  TimelineEntry,
  TypingState,
} from './state';

export interface SentFilter {
  botId?: string;
  to?: string;
}

export class SimulatorAdmin {
  constructor(private readonly ctx: SimContext) {}

  // ---- bots ----

  /** A logged-in bot without a QR login. */
  createBot(options: CreateBotOptions = {}): BotInfo {
    return this.ctx.state.createBot(options);
  }

  bots(): BotInfo[] {
    return this.ctx.state.listBots();
  }

  /** The bot's token then answers errcode -14 everywhere until its owner logs in again. */
  expireSession(botId: string): void {
    this.ctx.state.expireSession(botId);
  }

  // ---- messages ----

  /** A WeChat user sends the bot a message; it waits in the bot's getupdates queue. */
  injectMessage(options: InjectMessageOptions): InjectedMessage {
    return this.ctx.state.injectMessage(options);
  }

  sentMessages(filter: SentFilter = {}): SentRecord[] {
    return this.ctx.state.sentMessages(filter);
  }

  /** Resolves with the first sent message (already sent or yet to come) matching the predicate. */
  waitForSent(predicate: (record: SentRecord) => boolean, timeoutMs = 5000): Promise<SentRecord> {
    const existing = this.ctx.state.sentMessages().find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const onSent = (record: SentRecord): void => {
        if (!predicate(record)) return;
        cleanup();
        resolve(structuredClone(record));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching message was sent within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.ctx.state.events.off('sent', onSent);
      };
      this.ctx.state.events.on('sent', onSent);
    });
  }

  /**
   * Calls `listener` each time a getupdates answer carrying messages has been
   * written out (for measuring delivery → handling latency). Returns the
   * unsubscribe function. In-process only: admin-http has no equivalent.
   */
  onDelivered(listener: (delivery: Delivery) => void): () => void {
    const forward = (delivery: Delivery): void => listener({ ...delivery, messageIds: [...delivery.messageIds] });
    this.ctx.state.events.on('delivered', forward);
    return () => this.ctx.state.events.off('delivered', forward);
  }

  /**
   * Closes this user's reply window now (§10): sendmessage to the user then
   * answers `{"ret":-2}` until the user writes again. The tokens stay the
   * user's; the next inbound message reopens the window.
   */
  expireContextToken(botId: string, userId: string): void {
    this.ctx.state.closeReplyWindow(botId, userId);
  }

  /** The reply window and budget of this user (§10), on the simulator clock. */
  replyWindow(botId: string, userId: string): ReplyWindowView {
    return this.ctx.state.replyWindow(botId, userId);
  }

  // ---- the simulator clock (sending rules) ----

  /** Now on the simulator clock that the reply window, budget and rate limit read (ms epoch). */
  clockNow(): number {
    return this.ctx.state.clockNow();
  }

  /** How far advanceClock has moved the simulator clock past its base (options.clock) since the last reset. */
  clockOffsetMs(): number {
    return this.ctx.state.clockOffsetMs();
  }

  /** Moves the simulator clock forward by `ms` (≥ 0); returns the new now. reset() sets it back. */
  advanceClock(ms: number): number {
    return this.ctx.state.advanceClock(ms);
  }

  timeline(botId: string): TimelineEntry[] {
    return this.ctx.state.timeline(botId);
  }

  typingState(botId: string, userId: string): TypingState {
    return this.ctx.state.typingState(botId, userId);
  }

  notifications(botId: string): NotificationRecord[] {
    return this.ctx.state.notifications(botId);
  }

  // ---- faults and scenarios ----

  injectFault(fault: FaultSpec): void {
    this.ctx.faults.add(fault);
  }

  /** CDN faults (upload/download) are the CDN's own (see cdn.ts). */
  cdnFault(fault: CdnFault): void {
    this.ctx.cdn.injectFault(fault);
  }

  /** Queued faults in order, after any armed duplicate faults (see FaultBook.take). */
  pendingFaults(): PendingFault[] {
    return this.ctx.faults.pending();
  }

  setLoginScenario(scenario: LoginScenario): void {
    this.ctx.login.setScenario(scenario);
  }

  setApiScenario(scenario: ApiScenario): void {
    this.ctx.apiScenario.uploadFullUrl = scenario.uploadFullUrl;
  }

  // ---- QR login: the phone's side (§3) ----

  lastQrcode(): string | undefined {
    return this.ctx.login.lastQrcode();
  }

  scanQr(qrcode: string, userId?: string): string {
    return this.ctx.login.scan(qrcode, userId);
  }

  confirmQr(qrcode: string, userId?: string): string {
    return this.ctx.login.confirm(qrcode, userId);
  }

  cancelQr(qrcode: string): string {
    return this.ctx.login.cancel(qrcode);
  }

  /** The number the phone shows while the status is need_verifycode. */
  verifyCodeFor(qrcode: string): string | undefined {
    return this.ctx.login.verifyCodeFor(qrcode);
  }

  // ---- inspection ----

  requests(filter: RequestFilter = {}): RecordedRequest[] {
    return this.ctx.log.list(filter);
  }

  /** Forgets bots, messages, reply windows, faults, scenarios, QR codes, recorded requests and CDN objects; the clock goes back to its base. */
  reset(): void {
    this.ctx.login.reset();
    this.ctx.state.reset();
    this.ctx.faults.reset();
    this.ctx.log.reset();
    this.ctx.apiScenario.uploadFullUrl = undefined;
    this.ctx.cdn.reset();
  }
}
