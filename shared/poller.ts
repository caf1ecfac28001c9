/**
 * The getupdates long poller (§5). Single-use: start() once, stop() aborts the
 * in-flight request at once.
 *
 * Delivery is at-least-once with dedupe: a message is marked handled (and the
 * state saved) right after the handler returns, and the cursor is saved only
 * after the whole batch was handed over. A restart therefore resumes from the
 * last cursor, and the dedupe window drops what was already handled. (The
 * official client saves the cursor first, which loses messages on a crash.)
 */
import { systemClock, type Clock } from './clock';
import { ApiError, HttpError, IlinkError, SessionExpiredError } from './errors';
import { silentLogger, type Logger } from './log';
import { claimPoller } from './poll-registry';
import { toMessage } from './messages';
import type { Message } from './model';
import type { BotState } from './store';
import { isAbortError, type Transport } from './transport';
import type { GetUpdatesResponse, WeixinMessage } from './wire';

export type MessageHandler = (message: Message, wire: WeixinMessage) => void | Promise<void>;

export type PollerStatus = 'starting' | 'polling' | 'retrying' | 'paused' | 'stopped' | 'session-expired';

export interface PollerTimings {
  /** First client timeout, replaced by the server's longpolling_timeout_ms (§5.2). */
  initialTimeoutMs: number;
  /** Sleep after a failure (§5.4). */
  retryMs: number;
  /** Sleep after `failuresBeforeLongRetry` failures in a row. */
  longRetryMs: number;
  failuresBeforeLongRetry: number;
  /** Pause after -14 with the 'pause' policy (§5.4: one hour). */
  sessionPauseMs: number;
}

/** The longest delay setTimeout honours (2^31 - 1 ms); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

export const DEFAULT_POLLER_TIMINGS: PollerTimings = {
  initialTimeoutMs: 35_000,
  retryMs: 2_000,
  longRetryMs: 30_000,
  failuresBeforeLongRetry: 3,
  sessionPauseMs: 60 * 60 * 1000,
};

export interface PollerErrorInfo {
  /** 'poll': getupdates failed; 'handler': the handler threw for one message. */
  source: 'poll' | 'handler';
  consecutiveFailures: number;
  /** How long the poller sleeps before the next attempt (poll errors only). */
  retryInMs?: number;
  message?: Message;
}

export interface PollerOptions {
  transport: Transport;
  state: BotState;
  handler: MessageHandler;
  /**
   * What -14 (session expired) does: 'stop' ends start() with SessionExpiredError
   * (the seed's ErrSessionTimeout); 'pause' sleeps an hour and resumes, as the
   * official client does.
   */
  onSessionExpired?: 'stop' | 'pause';
  /** Call notifystart before the first poll and notifystop after the last (§2). */
  notify?: boolean;
  timings?: Partial<PollerTimings>;
  clock?: Clock;
  logger?: Logger;
  onStatus?: (status: PollerStatus, detail?: string) => void;
  onError?: (error: Error, info: PollerErrorInfo) => void;
  /** Drops messages before the handler and before dedupe bookkeeping; they still count as handled. */
  accept?: (message: Message) => boolean;
  /**
   * Claims this bot for the poller's lifetime: a second poller with the same
   * key fails at start() with PollerConflictError naming `owner`.
   */
  exclusive?: { botKey: string; owner: string };
}

export class Poller {
  private readonly options: PollerOptions;
  private readonly timings: PollerTimings;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private started = false;
  private runPromise: Promise<void> | undefined;
  private nextTimeoutMs: number;
  private statusValue: PollerStatus = 'stopped';

  constructor(options: PollerOptions) {
    this.options = options;
    this.timings = { ...DEFAULT_POLLER_TIMINGS, ...options.timings };
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.nextTimeoutMs = this.timings.initialTimeoutMs;
  }

  get status(): PollerStatus {
    return this.statusValue;
  }

  /** The client timeout the next getupdates will use. */
  get currentTimeoutMs(): number {
    return this.nextTimeoutMs;
  }

  /**
   * Polls until stop() (resolves) or, with the 'stop' policy, until the session
   * expires (rejects with SessionExpiredError).
   */
  start(): Promise<void> {
    if (this.started) throw new IlinkError('this poller was already started; create a new one');
    const release = this.options.exclusive ? claimPoller(this.options.exclusive.botKey, this.options.exclusive.owner) : () => undefined;
    this.started = true;
    this.runPromise = this.run().finally(release);
    return this.runPromise;
  }

  /** Aborts the in-flight poll at once and waits for the loop (and notifystop) to finish. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.runPromise) await this.runPromise.catch(() => undefined);
  }

  private setStatus(status: PollerStatus, detail?: string): void {
    this.statusValue = status;
    this.options.onStatus?.(status, detail);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    this.setStatus('starting');
    try {
      if (this.options.notify !== false) await this.notify('notifyStart');
      let failures = 0;
      while (!signal.aborted) {
        let response: GetUpdatesResponse;
        try {
          this.setStatus('polling');
          response = await this.poll(signal);
        } catch (error) {
          if (signal.aborted || isAbortError(error)) break;
          if (error instanceof SessionExpiredError) {
            if (this.options.onSessionExpired !== 'pause') {
              this.setStatus('session-expired', error.message);
              throw error;
            }
            // §5.4: pause this account for an hour, then resume with the same token and cursor.
            failures = 0;
            this.setStatus('paused', error.message);
            this.report(error, { source: 'poll', consecutiveFailures: 0, retryInMs: this.timings.sessionPauseMs });
            await this.clock.sleep(this.timings.sessionPauseMs, signal).catch(() => undefined);
            continue;
          }
          failures++;
          const long = failures >= this.timings.failuresBeforeLongRetry;
          const retryInMs = long ? this.timings.longRetryMs : this.timings.retryMs;
          this.setStatus('retrying', describe(error));
          this.report(asError(error), { source: 'poll', consecutiveFailures: failures, retryInMs });
          if (long) failures = 0;
          await this.clock.sleep(retryInMs, signal).catch(() => undefined);
          continue;
        }
        failures = 0;
        const hint = response.longpolling_timeout_ms;
        // A hint beyond what a timer can hold would become a 1 ms timeout and a busy loop.
        if (typeof hint === 'number' && hint > 0 && hint <= MAX_TIMER_MS) {
          this.nextTimeoutMs = hint;
        }
        await this.deliver(response);
      }
    } finally {
      if (this.options.notify !== false) await this.notify('notifyStop');
      if (this.statusValue !== 'session-expired') this.setStatus('stopped');
    }
  }

  /** One getupdates. A client-side timeout is an empty success (§5.3). */
  private async poll(signal: AbortSignal): Promise<GetUpdatesResponse> {
    const cursor = this.options.state.cursor;
    try {
      return await this.options.transport.post<GetUpdatesResponse>(
        'getUpdates',
        { get_updates_buf: cursor },
        { signal, timeoutMs: this.nextTimeoutMs },
      );
    } catch (error) {
      if (error instanceof HttpError && error.kind === 'timeout') return { ret: 0, msgs: [], get_updates_buf: cursor };
      throw error;
    }
  }

  private async deliver(response: GetUpdatesResponse): Promise<void> {
    const state = this.options.state;
    const batch = Array.isArray(response.msgs) ? response.msgs : [];
    for (const wire of batch) {
      // Stopped mid-batch (a host redeploying): the rest of the batch and the cursor stay for the
      // next poller; what was handled is in the dedupe window, so the batch fetched again repeats nothing.
      if (this.abort.signal.aborted) return;
      if (!wire || typeof wire !== 'object') continue;
      const message = toMessage(wire);
      if (state.hasSeen(message.messageId)) continue;
      // Known to the handler at once; recorded on disk together with the "handled" mark below.
      if (message.from && message.contextToken) state.rememberContextToken(message.from, message.contextToken, { flush: false });
      if (!this.options.accept || this.options.accept(message)) {
        try {
          await this.options.handler(message, wire);
        } catch (error) {
          // Cut short by stop() (e.g. its download cancelled): not handled, so not marked seen.
          if (this.abort.signal.aborted) return;
          // A failing handler never drops the rest of the batch (unlike the official client, §5.6).
          this.report(asError(error), { source: 'handler', consecutiveFailures: 0, message });
        }
      }
      state.markSeen(message.messageId);
    }
    const next = typeof response.get_updates_buf === 'string' ? response.get_updates_buf : '';
    if (next) state.setCursor(next);
  }

  private async notify(endpoint: 'notifyStart' | 'notifyStop'): Promise<void> {
    if (!this.options.transport.hasToken) return;
    try {
      // notifystop uses its own timeout, never the cancelled signal (§2).
      await this.options.transport.post(endpoint, {}, endpoint === 'notifyStart' ? { signal: this.abort.signal } : {});
    } catch (error) {
      if (isAbortError(error)) return;
      this.logger.warn(`iLink ${endpoint === 'notifyStart' ? 'notifystart' : 'notifystop'} failed: ${describe(error)}`);
    }
  }

  private report(error: Error, info: PollerErrorInfo): void {
    this.logger.warn(
      info.source === 'handler'
        ? `message handler failed for message ${info.message?.messageId}: ${error.message}`
        : `getupdates failed (${info.consecutiveFailures} in a row), retrying in ${info.retryInMs} ms: ${error.message}`,
    );
    this.options.onError?.(error, info);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describe(error: unknown): string {
  if (error instanceof ApiError || error instanceof HttpError) return error.message;
  return asError(error).message;
}
