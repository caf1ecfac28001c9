/**
 * Typing indicator (§5.8, §5.9): a per-user cache of getconfig's typing_ticket
 * with the official refresh and retry timing, sendtyping start/stop, a
 * keepalive that repeats "typing" every 5 s around a piece of work, and
 * per-user sessions for hosts that start and stop typing in separate calls.
 */
import { systemClock, type Clock } from './clock';
import { silentLogger, type Logger } from './log';
import { isAbortError, type Transport } from './transport';
import type { BotState } from './store';
import { TypingStatus, type GetConfigResponse } from './wire';

export const TICKET_REFRESH_WINDOW_MS = 24 * 60 * 60 * 1000;
export const TICKET_FIRST_RETRY_MS = 2_000;
export const TICKET_MAX_RETRY_MS = 60 * 60 * 1000;
export const TYPING_KEEPALIVE_MS = 5_000;

interface TicketEntry {
  ticket: string;
  nextFetchAt: number;
  retryDelayMs: number;
}

export class TypingTicketCache {
  private readonly entries = new Map<string, TicketEntry>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * The user's ticket ("" when none), fetched lazily: a fresh entry is used as
   * is; otherwise getconfig runs, with the inbound message's context token.
   */
  async ticketFor(userId: string, contextToken?: string, signal?: AbortSignal): Promise<string> {
    const entry = this.entries.get(userId);
    if (entry && this.clock.now() < entry.nextFetchAt) return entry.ticket;
    const pending = this.inFlight.get(userId);
    if (pending) return pending;
    const fetch = this.fetch(userId, contextToken, signal).finally(() => this.inFlight.delete(userId));
    this.inFlight.set(userId, fetch);
    return fetch;
  }

  /** When the cache will next call getconfig for this user (for tests and diagnostics). */
  nextFetchAt(userId: string): number | undefined {
    return this.entries.get(userId)?.nextFetchAt;
  }

  private async fetch(userId: string, contextToken: string | undefined, signal?: AbortSignal): Promise<string> {
    const now = this.clock.now();
    try {
      const body: Record<string, string> = { ilink_user_id: userId };
      if (contextToken) body.context_token = contextToken;
      const response = await this.transport.post<GetConfigResponse>('getConfig', body, { signal });
      const ticket = typeof response.typing_ticket === 'string' ? response.typing_ticket : '';
      // Success: next refresh at a random point within 24 h; the retry delay resets.
      this.entries.set(userId, {
        ticket,
        nextFetchAt: now + this.random() * TICKET_REFRESH_WINDOW_MS,
        retryDelayMs: TICKET_FIRST_RETRY_MS,
      });
      return ticket;
    } catch (error) {
      if (isAbortError(error)) throw error;
      const entry = this.entries.get(userId);
      if (!entry) {
        this.entries.set(userId, { ticket: '', nextFetchAt: now + TICKET_FIRST_RETRY_MS, retryDelayMs: TICKET_FIRST_RETRY_MS });
        return '';
      }
      // Keep the old ticket; double the delay up to an hour (4 s, 8 s, …).
      entry.retryDelayMs = Math.min(entry.retryDelayMs * 2, TICKET_MAX_RETRY_MS);
      entry.nextFetchAt = now + entry.retryDelayMs;
      return entry.ticket;
    }
  }
}

export interface TypingOptions {
  contextToken?: string;
  signal?: AbortSignal;
}

/** A running keepalive. stop() ends it and sends "typing" off; a signal abandons that last request. */
export interface TypingKeepalive {
  stop(signal?: AbortSignal): Promise<void>;
}

export class TypingIndicator {
  constructor(
    private readonly transport: Transport,
    private readonly tickets: TypingTicketCache,
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
  ) {}

  /**
   * Sends one sendtyping. Returns false when there is no ticket for the user
   * (typing is then skipped, as the official client does).
   */
  async set(userId: string, typing: boolean, options: TypingOptions = {}): Promise<boolean> {
    const ticket = await this.tickets.ticketFor(userId, options.contextToken, options.signal);
    if (!ticket) return false;
    await this.transport.post(
      'sendTyping',
      { ilink_user_id: userId, typing_ticket: ticket, status: typing ? TypingStatus.TYPING : TypingStatus.CANCEL },
      { signal: options.signal },
    );
    return true;
  }

  /**
   * Shows "typing…" while `work` runs: status 1 now and every 5 s, status 2
   * when it settles. Typing failures are logged, never thrown: they must not
   * break the work they decorate.
   */
  async around<T>(userId: string, work: () => Promise<T>, options: TypingOptions & { intervalMs?: number } = {}): Promise<T> {
    const keepalive = this.start(userId, options);
    try {
      return await work();
    } finally {
      await keepalive.stop();
    }
  }

  /**
   * Starts a keepalive; call stop() to send status 2. `stillTyping`, asked
   * before each repeat, ends the repeats when it answers false.
   */
  start(userId: string, options: TypingOptions & { intervalMs?: number; stillTyping?: () => Promise<boolean> } = {}): TypingKeepalive {
    const interval = options.intervalMs ?? TYPING_KEEPALIVE_MS;
    const stopper = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal;
    const quietly = async (typing: boolean, sig?: AbortSignal) => {
      try {
        return await this.set(userId, typing, { contextToken: options.contextToken, signal: sig });
      } catch (error) {
        if (!isAbortError(error)) this.logger.warn(`typing indicator for ${userId} failed: ${(error as Error).message}`);
        return false;
      }
    };
    const loop = (async () => {
      while (!signal.aborted) {
        await quietly(true, signal);
        await this.clock.sleep(interval, signal).catch(() => undefined);
        if (!signal.aborted && options.stillTyping && !(await options.stillTyping().catch(() => true))) break;
      }
    })();
    return {
      stop: async (stopSignal) => {
        stopper.abort();
        await loop;
        await quietly(false, stopSignal);
      },
    };
  }
}

export interface TypingSessionOptions {
  /** The context token for users started without one (the client passes the user's latest). */
  contextTokenOf?: (userId: string) => string | undefined;
  clock?: Clock;
  intervalMs?: number;
  /**
   * The bot state these sessions belong to: endTypingFor(state, user) ends
   * the user's session in every TypingSessions of that state, so a send by
   * any client of the bot (an n8n Reply on the trigger's bot) ends the
   * "typing…" the trigger started. When other processes share the state (n8n
   * queue mode: the Reply runs on a worker), each keepalive first reads what
   * they wrote, and a message they sent with the session's context token ends
   * it too (within one keepalive interval).
   */
  group?: BotState;
}

/** The TypingSessions of a bot state that have a session running (only those: a client per execution must not pile up here). */
const runningByGroup = new WeakMap<BotState, Set<TypingSessions>>();

/** Ends the user's "typing…" wherever a client of this bot state (in this process) started it (a message to them went out). */
export async function endTypingFor(group: BotState, userId: string): Promise<void> {
  const running = runningByGroup.get(group);
  if (running) await Promise.all([...running].map((sessions) => sessions.stop(userId)));
}

/**
 * "typing…" per user, for hosts where one call starts it and a later one
 * stops it (a Node-RED flow: one msg starts it, another msg or node stops
 * it). One keepalive per user: starting a user who is already typing only
 * moves the timeout (a second keepalive's "off" could land after the first's
 * "on"); each session ends by itself at its timeout, so a flow that never
 * stops it cannot leave "typing…" on.
 */
export class TypingSessions {
  private readonly sessions = new Map<string, { keepalive: TypingKeepalive; expiry: AbortController }>();
  private readonly clock: Clock;

  constructor(
    private readonly indicator: TypingIndicator,
    private readonly options: TypingSessionOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Shows "typing…" to the user until stop(), or for `timeoutMs` (0 or absent: until stop()). */
  start(userId: string, options: { contextToken?: string; timeoutMs?: number } = {}): void {
    let session = this.sessions.get(userId);
    if (session) {
      session.expiry.abort();
      session.expiry = new AbortController();
    } else {
      const contextToken = options.contextToken ?? this.options.contextTokenOf?.(userId);
      const stillTyping = this.answeredElsewhereCheck(userId, contextToken);
      session = { keepalive: this.indicator.start(userId, { contextToken, intervalMs: this.options.intervalMs, stillTyping }), expiry: new AbortController() };
      this.sessions.set(userId, session);
      this.joinGroup();
    }
    const { expiry } = session;
    if (options.timeoutMs && options.timeoutMs > 0) {
      this.clock.sleep(options.timeoutMs, expiry.signal).then(
        () => {
          if (!expiry.signal.aborted) void this.stop(userId);
        },
        () => undefined, // moved by a new start, or stopped
      );
    }
  }

  /** Ends the user's session (false when none runs); a signal abandons the "off" request. */
  async stop(userId: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const session = this.sessions.get(userId);
    if (!session) return false;
    this.sessions.delete(userId);
    if (this.sessions.size === 0) this.leaveGroup();
    session.expiry.abort();
    await session.keepalive.stop(options.signal);
    return true;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((userId) => this.stop(userId)));
  }

  /** Whether the user's "typing…" is on. */
  has(userId: string): boolean {
    return this.sessions.has(userId);
  }

  /** For a shared state: false once another process sent with this context token (the session then ends). */
  private answeredElsewhereCheck(userId: string, contextToken: string | undefined): (() => Promise<boolean>) | undefined {
    const state = this.options.group;
    if (!state?.shared || !contextToken) return undefined;
    const sentAtStart = state.budget(contextToken)?.sends ?? 0;
    return async () => {
      await state.refresh();
      if ((state.budget(contextToken)?.sends ?? 0) <= sentAtStart) return true;
      void this.stop(userId);
      return false;
    };
  }

  private joinGroup(): void {
    const { group } = this.options;
    if (!group) return;
    let running = runningByGroup.get(group);
    if (!running) {
      running = new Set();
      runningByGroup.set(group, running);
    }
    running.add(this);
  }

  private leaveGroup(): void {
    const { group } = this.options;
    if (group) runningByGroup.get(group)?.delete(this);
  }
}
