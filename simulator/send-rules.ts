/**
 * The sending rules of the real server (§10): the reply window, the budget of
 * sends per user message, and an optional rate limit. Pure bookkeeping on
 * the simulator clock (clock.ts); sendmessage (api/messages.ts) turns a block
 * into its answer (rules.ts).
 *
 * - Reply window (#156, #185, #204, #309): a bot can send to a user only
 *   within replyWindowMs of that user's last message to the bot; the bot's
 *   own sends do not extend it.
 * - Budget (#81, #202, epiral/weixin-bot#3 "一个context_token只能回复10条消息"):
 *   at most sendsPerInbound successful sends with the context token of one
 *   user message; the user's next message brings a new token with the full
 *   budget (a token's budget never grows). Replies to several waiting
 *   messages, each with its own token, each have their own budget.
 * - Rate limit (#142, #270): per bot, at most `sends` successful sends in any
 *   `perMs` (sliding window). Off by default.
 *
 * Refused sends count for none of them.
 */
import type { ClockSource } from './clock';

export interface RateLimit {
  /** Successful sends allowed per bot within any perMs. */
  sends: number;
  perMs: number;
}

export interface SendRulesConfig {
  clock: ClockSource;
  replyWindowMs: number;
  sendsPerInbound: number;
  /** null: no rate limit. */
  rateLimit: RateLimit | null;
}

/** Why a send is refused; checked in this order. */
export type SendBlock = 'window-closed' | 'budget-spent' | 'rate-limited';

/** admin.replyWindow(): times are ms epoch on the simulator clock. */
export interface ReplyWindowView {
  /** The window is open: the user wrote less than replyWindowMs ago and admin did not close it. */
  open: boolean;
  /** When the window closes (or closed); null when the user never wrote. */
  closesAt: number | null;
  /** Sends the budget of the user's latest message (its context token) still allows (0 when the user never wrote). Not limited by `open`. */
  sendsLeft: number;
  /** The user's last message to the bot on the simulator clock; null when the user never wrote. */
  lastInboundAt: number | null;
}

interface UserWindow {
  lastInboundAt: number;
  /** The context token of the user's latest message. */
  latestToken: string;
  /** Set by close() (admin.expireContextToken) until the user writes again. */
  closedAt?: number;
}

/** Tokens whose send counts are kept per bot; the oldest are forgotten beyond this. */
const TOKEN_COUNT_CAP = 20_000;

export class SendRules {
  /** botId → userId → window. */
  private readonly windows = new Map<string, Map<string, UserWindow>>();
  /** botId → context token → successful sends with it (the budget). */
  private readonly tokenSends = new Map<string, Map<string, number>>();
  /** botId → times of its recent successful sends (rate limit), oldest first. */
  private readonly recentSends = new Map<string, number[]>();

  constructor(private readonly config: SendRulesConfig) {}

  /** The user wrote to the bot (their message carries `token`): the window opens (again) from now; the token has the full budget. */
  userWrote(botId: string, userId: string, token: string): void {
    this.windowsOf(botId).set(userId, { lastInboundAt: this.config.clock.now(), latestToken: token });
  }

  /** Why a send from this bot to this user with this context token would be refused now, or undefined. */
  block(botId: string, userId: string, token: string): SendBlock | undefined {
    const now = this.config.clock.now();
    const window = this.windows.get(botId)?.get(userId);
    if (!window || !this.isOpen(window, now)) return 'window-closed';
    if (this.sendsWith(botId, token) >= this.config.sendsPerInbound) return 'budget-spent';
    if (this.config.rateLimit && this.recentOf(botId, now).length >= this.config.rateLimit.sends) return 'rate-limited';
    return undefined;
  }

  /** A send with this token succeeded: it uses one of the token's budget and counts for the rate limit. */
  recordSend(botId: string, token: string): void {
    const now = this.config.clock.now();
    let counts = this.tokenSends.get(botId);
    if (!counts) {
      counts = new Map();
      this.tokenSends.set(botId, counts);
    }
    counts.set(token, (counts.get(token) ?? 0) + 1);
    if (counts.size > TOKEN_COUNT_CAP) counts.delete(counts.keys().next().value as string);
    if (this.config.rateLimit) {
      const recent = this.recentOf(botId, now);
      recent.push(now);
      this.recentSends.set(botId, recent);
    }
  }

  /** Closes the window now (admin.expireContextToken); the user's next message opens it again. */
  close(botId: string, userId: string): void {
    const window = this.windows.get(botId)?.get(userId);
    if (window && window.closedAt === undefined) window.closedAt = this.config.clock.now();
  }

  view(botId: string, userId: string): ReplyWindowView {
    const window = this.windows.get(botId)?.get(userId);
    if (!window) return { open: false, closesAt: null, sendsLeft: 0, lastInboundAt: null };
    return {
      open: this.isOpen(window, this.config.clock.now()),
      closesAt: this.closesAt(window),
      sendsLeft: Math.max(0, this.config.sendsPerInbound - this.sendsWith(botId, window.latestToken)),
      lastInboundAt: window.lastInboundAt,
    };
  }

  reset(): void {
    this.windows.clear();
    this.tokenSends.clear();
    this.recentSends.clear();
  }

  private sendsWith(botId: string, token: string): number {
    return this.tokenSends.get(botId)?.get(token) ?? 0;
  }

  private windowsOf(botId: string): Map<string, UserWindow> {
    let windows = this.windows.get(botId);
    if (!windows) {
      windows = new Map();
      this.windows.set(botId, windows);
    }
    return windows;
  }

  private closesAt(window: UserWindow): number {
    const natural = window.lastInboundAt + this.config.replyWindowMs;
    return window.closedAt === undefined ? natural : Math.min(natural, window.closedAt);
  }

  private isOpen(window: UserWindow, now: number): boolean {
    return now < this.closesAt(window);
  }

  /** This bot's successful sends within the last perMs (sliding window), pruned in place. */
  private recentOf(botId: string, now: number): number[] {
    const limit = this.config.rateLimit;
    const recent = this.recentSends.get(botId) ?? [];
    if (!limit) return recent;
    const from = recent.findIndex((time) => time > now - limit.perMs);
    const kept = from < 0 ? [] : recent.slice(from);
    this.recentSends.set(botId, kept);
    return kept;
  }
}
