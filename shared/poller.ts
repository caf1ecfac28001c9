/**
 * The getupdates long poller (§5). Single-use: start() once, stop() aborts the
 * in-flight request at once.
 *
 * The real server never replays (§10): what a getupdates answer carried is
 * gone from the server. So every answer is written to the state's inbox,
 * together with its cursor, before any of its messages is handed over; a
 * message leaves the inbox once its handler has finished. A restart hands the
 * inbox over first, in order. Messages delivered twice (§10) are dropped by
 * their ID (inbox and dedupe window).
 *
 * Handlers run per user: one user's messages one at a time and in order,
 * different users side by side (`concurrency`). Polling goes on while they
 * run, up to `maxPending` messages waiting.
 */
import { systemClock, type Clock } from './clock';
import { ApiError, HttpError, ILinkError, SessionExpiredError } from './errors';
import { silentLogger, type Logger } from './log';
import { claimPoller } from './poll-registry';
import { asIdString, toMessage } from './messages';
import type { Message } from './model';
import { restoreQuote } from './quote-cache';
import { inboundTimeOf } from './reply-window';
import type { BotState, InboxEntry, ReceiverClaim } from './store';
import { isAbortError, type Transport } from './transport';
import { UserLanes } from './user-lanes';
import { MessageType, type GetUpdatesResponse, type WeixinMessage } from './wire';

export interface HandlerContext {
  /** Aborts when the poller stops; a handler cut short leaves its message in the inbox for the next start. */
  signal: AbortSignal;
}

export type MessageHandler = (message: Message, wire: WeixinMessage, context: HandlerContext) => void | Promise<void>;

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
  /** How long stop() waits for running handlers before leaving their messages in the inbox. */
  stopGraceMs: number;
  /**
   * With a state other processes share: how often, at most, the poller looks (between polls) for
   * messages another receiver stored and left unhandled when it lost its claim.
   */
  leftoverCheckMs: number;
}

/** The longest delay setTimeout honours (2^31 - 1 ms); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

export const DEFAULT_POLLER_TIMINGS: PollerTimings = {
  initialTimeoutMs: 35_000,
  retryMs: 2_000,
  longRetryMs: 30_000,
  failuresBeforeLongRetry: 3,
  sessionPauseMs: 60 * 60 * 1000,
  stopGraceMs: 500,
  leftoverCheckMs: 5_000,
};

/** Users whose messages are handled at the same time, by default. */
export const DEFAULT_CONCURRENCY = 8;
/** Messages fetched and waiting (or running) before the poller stops fetching more, by default. */
export const DEFAULT_MAX_PENDING = 200;

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
  /** Drops messages before the handler; they still count as handled. */
  accept?: (message: Message) => boolean;
  /** Hand over the bot's own echoes (message_type BOT) too. Default false. */
  includeBotMessages?: boolean;
  /** How many users' messages are handled at once; each user's stay in order. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
  /** Stop fetching while this many messages wait or run. Default DEFAULT_MAX_PENDING. */
  maxPending?: number;
  /**
   * Runs in the user's turn before the handler, for every message from a
   * user (also ones `accept` drops): the client sends the user's outbox here.
   * A failure is reported and does not stop the message.
   */
  beforeHandle?: (message: Message) => Promise<void>;
  /**
   * Where handler errors go when there is no onError (default: the logger).
   * The client passes stderr when it was given no logger, so they are never silent.
   */
  unhandledErrorLogger?: Logger;
  /**
   * Claims this bot for the poller's lifetime, in this process and across
   * processes: a second poller with any of the same keys fails at start()
   * with PollerConflictError naming `owner`.
   */
  exclusive?: { botKeys: readonly string[]; owner: string };
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
  private readonly lanes: UserLanes<InboxEntry>;
  /** Set once stop() gave up on handlers still running: their late results are not recorded. */
  private abandoned = false;
  /** Set when another process took over receiving for this bot (a shared state): the poller stops with it. */
  private lostClaim: Error | undefined;
  /** Inbox keys handed to the lanes in this run and not yet handled. */
  private readonly dispatched = new Set<string>();
  private lastLeftoverCheck = 0;

  constructor(options: PollerOptions) {
    this.options = options;
    this.timings = { ...DEFAULT_POLLER_TIMINGS, ...options.timings };
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.nextTimeoutMs = this.timings.initialTimeoutMs;
    this.lanes = new UserLanes(options.concurrency ?? DEFAULT_CONCURRENCY, (entry) => this.handle(entry));
  }

  /** Messages fetched and not yet handled (queued or running). */
  get pending(): number {
    return this.lanes.pending;
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
    if (this.started) throw new ILinkError('this poller was already started; create a new one');
    const release = this.options.exclusive ? claimPoller(this.options.exclusive.botKeys, this.options.exclusive.owner) : () => undefined;
    this.started = true;
    this.runPromise = this.run().finally(release);
    return this.runPromise;
  }

  /**
   * Aborts the in-flight poll and the handlers' signals at once, and waits for
   * the loop: for running handlers at most `stopGraceMs`, then notifystop.
   */
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
    const claim = await this.claimAcrossProcesses();
    if (!claim) return;
    this.lastLeftoverCheck = this.clock.now();
    try {
      if (this.options.notify !== false) await this.notify('notifyStart');
      // What an earlier run fetched and did not finish goes first, in order.
      for (const entry of this.options.state.inboxEntries()) this.dispatch(entry);
      const maxPending = this.options.maxPending ?? DEFAULT_MAX_PENDING;
      let failures = 0;
      while (!signal.aborted) {
        await this.lanes.whenBelow(maxPending, signal);
        if (signal.aborted) break;
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
        await this.accept(response, claim);
        await this.takeOverLeftovers();
      }
      if (this.lostClaim) throw this.lostClaim;
    } finally {
      const stillRunning = await this.lanes.close(this.timings.stopGraceMs);
      if (stillRunning > 0) {
        this.abandoned = true;
        this.logger.warn(`${stillRunning} message handler(s) still running at stop; their messages stay in the inbox for the next start`);
      }
      if (this.options.notify !== false) await this.notify('notifyStop');
      await claim.release();
      if (this.statusValue !== 'session-expired') this.setStatus('stopped');
    }
  }

  /**
   * With a state that other processes share (n8n queue mode), claims the bot
   * among them too; undefined when stop() came first.
   */
  private async claimAcrossProcesses(): Promise<ReceiverClaim | undefined> {
    const owner = this.options.exclusive?.owner ?? `a listener in process ${process.pid}`;
    const onLost = (error: Error) => {
      this.lostClaim = error;
      this.abort.abort();
    };
    try {
      return await this.options.state.claimReceiver(owner, onLost, this.abort.signal);
    } catch (error) {
      this.setStatus('stopped');
      if (this.abort.signal.aborted) return undefined;
      throw error;
    }
  }

  /** One getupdates. A client-side timeout is an empty success (§5.3). */
  private async poll(signal: AbortSignal): Promise<GetUpdatesResponse> {
    const cursor = this.options.state.cursor;
    try {
      return await this.options.transport.post<GetUpdatesResponse>(
        'getUpdates',
        { get_updates_buf: cursor },
        // A body that has begun is read to the end, even past stop() or the timeout: its messages exist nowhere else now (§10).
        { signal, timeoutMs: this.nextTimeoutMs, readWholeBody: true },
      );
    } catch (error) {
      if (error instanceof HttpError && error.kind === 'timeout') return { ret: 0, msgs: [], get_updates_buf: cursor };
      throw error;
    }
  }

  /**
   * Records a getupdates answer (new messages into the inbox, then the cursor:
   * one write), waits until it is stored, then queues its messages.
   */
  private async accept(response: GetUpdatesResponse, claim: ReceiverClaim): Promise<void> {
    const state = this.options.state;
    const batch = Array.isArray(response.msgs) ? response.msgs : [];
    const fresh: InboxEntry[] = [];
    const keys = new Set<string>();
    for (const wire of batch) {
      if (!wire || typeof wire !== 'object') continue;
      const key = inboxKey(wire);
      // Delivered twice (§10): by the server in one answer or a later one, or still waiting here.
      if (keys.has(key) || state.isKnown(key)) continue;
      keys.add(key);
      fresh.push({ key, msg: wire });
    }
    const next = typeof response.get_updates_buf === 'string' ? response.get_updates_buf : '';
    state.batch(() => {
      for (const entry of fresh) {
        state.addToInbox(entry);
        const from = entry.msg.from_user_id;
        if (!from || entry.msg.message_type === MessageType.BOT) continue;
        // A message fetched late (after downtime) still dates from when it was written.
        state.noteUserMessage(from, entry.msg.context_token, inboundTimeOf(entry.msg.create_time_ms, this.clock.now()));
      }
      if (next) state.setCursor(next);
    });
    if (fresh.length === 0) return;
    // At once for a file; for Redis (n8n queue mode), when Redis has acknowledged the write.
    await state.durable();
    // A shared state: if Redis was away longer than the claim's lease, another receiver may have
    // taken over meanwhile. Then these stay in the inbox for it (takeOverLeftovers), not handled twice.
    if (state.shared && !(await this.stillReceiver(claim))) return;
    for (const entry of fresh) this.dispatch(entry);
  }

  private async stillReceiver(claim: ReceiverClaim): Promise<boolean> {
    try {
      return await claim.confirm();
    } catch (error) {
      // Redis has just stored the messages: a failure now is no sign that another process has the bot.
      this.logger.warn(`could not confirm the claim on receiving for this bot: ${describe(error)}`);
      return true;
    }
  }

  /**
   * With a state other processes share: hands over what another receiver stored in the
   * inbox and never handled (it lost its claim to this poller while Redis was away).
   */
  private async takeOverLeftovers(): Promise<void> {
    const state = this.options.state;
    if (!state.shared || this.clock.now() - this.lastLeftoverCheck < this.timings.leftoverCheckMs) return;
    this.lastLeftoverCheck = this.clock.now();
    try {
      await state.refresh();
    } catch (error) {
      this.logger.warn(`could not read the bot's state from the other processes: ${describe(error)}`);
      return;
    }
    for (const entry of state.inboxEntries()) this.dispatch(entry);
  }

  /** Queues a message for its user's lane, once per run. */
  private dispatch(entry: InboxEntry): void {
    if (this.dispatched.has(entry.key)) return;
    this.dispatched.add(entry.key);
    this.lanes.push(entry.msg.from_user_id ?? '', entry);
  }

  /** Runs the handler for one message; marks it handled unless the poller stopped under it. */
  private async handle(entry: InboxEntry): Promise<void> {
    const signal = this.abort.signal;
    // Stopping: what has not started stays in the inbox for the next start.
    if (signal.aborted) return;
    const state = this.options.state;
    const wire = entry.msg;
    const message = toMessage(wire);
    restoreQuote(message, state);
    const echo = wire.message_type === MessageType.BOT;
    if (!echo && this.options.beforeHandle) {
      try {
        await this.options.beforeHandle(message);
      } catch (error) {
        if (signal.aborted) return;
        this.report(asError(error), { source: 'handler', consecutiveFailures: 0, message });
      }
    }
    const skip = (echo && !this.options.includeBotMessages) || (this.options.accept && !this.options.accept(message));
    if (!skip) {
      try {
        await this.options.handler(message, wire, { signal });
      } catch (error) {
        // Cut short by stop() (e.g. its download cancelled): not handled, so it stays in the inbox.
        if (signal.aborted) return;
        // A failing handler never drops the rest of the batch (unlike the official client, §5.6).
        this.report(asError(error), { source: 'handler', consecutiveFailures: 0, message });
      }
    }
    if (this.abandoned) return;
    state.markSeen(entry.key);
    this.dispatched.delete(entry.key);
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
    if (info.source === 'handler') {
      const line = `message handler failed for message ${info.message?.messageId} from ${info.message?.from}: ${error.message}`;
      if (this.options.onError) this.logger.warn(line);
      else (this.options.unhandledErrorLogger ?? this.logger).error(line);
    } else {
      this.logger.warn(`getupdates failed (${info.consecutiveFailures} in a row), retrying in ${info.retryInMs} ms: ${error.message}`);
    }
    this.options.onError?.(error, info);
  }
}

let localKeys = 0;

/** The message's ID; a message without one (never seen so far) gets a local key, so it can still wait in the inbox. */
function inboxKey(wire: WeixinMessage): string {
  return asIdString(wire.message_id) || `local-${process.pid}-${Date.now()}-${++localKeys}`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describe(error: unknown): string {
  if (error instanceof ApiError || error instanceof HttpError) return error.message;
  return asError(error).message;
}
