/**
 * The server's sending rules (§10), as the client can know them before it
 * sends: a bot may send to a user only within 24 hours of that user's last
 * message (its own sends do not extend this), and at most 10 messages per
 * user message, that is per its context token (every sendmessage counts:
 * each text part, caption, media).
 * A send that would break one fails before any request, naming the rule and
 * the fix; nothing partial goes out.
 */
import { ILinkError } from './errors';

export interface ReplyWindowRules {
  /** How long after a user's last message the bot may send to them (§10: 24 h; some saw refusals earlier). */
  windowMs: number;
  /** Bot messages allowed per user message (§10: 10). */
  sendsPerMessage: number;
}

export const DEFAULT_REPLY_WINDOW_RULES: ReplyWindowRules = { windowMs: 24 * 60 * 60 * 1000, sendsPerMessage: 10 };

/** What the state keeps per user: when they last wrote, and the context token that message brought. */
export interface UserWindowRecord {
  /** When the user last wrote (ms, client clock). */
  lastInboundAt: number;
  /** The context token of that message ('' when it had none). */
  token: string;
}

/**
 * What the state keeps per context token (§10: "一个context_token只能回复10条消息"):
 * each user message's token allows its own 10 sends.
 */
export interface TokenBudget {
  /** Bot messages sent with this token. */
  sends: number;
  /** The server refused a send with it (-2): spent, or the window closed. */
  refused?: boolean;
}

/** When the user wrote, from the server's stamp; now when there is none or it is ahead of this clock. */
export function inboundTimeOf(stamp: number | undefined, now: number): number {
  return typeof stamp === 'number' && Number.isFinite(stamp) && stamp > 0 && stamp <= now ? stamp : now;
}

export interface ReplyWindow {
  userId: string;
  /** A send now would be accepted, as far as this bot knows. */
  open: boolean;
  /** False when this bot has no record of the user's last message (it never wrote, or before this state): the server decides. */
  known: boolean;
  lastInboundAt?: number;
  closesAt?: number;
  /** Messages left of the budget (0 when closed). */
  sendsLeft: number;
  /** Why it is closed: the 24 h passed, the 10 messages are used up, or the server refused a send. */
  closedBy?: 'time' | 'budget' | 'server';
}

/**
 * The window for a send to `userId` with a context token whose budget is
 * `budget` (by default the token of their latest message).
 */
export function replyWindowOf(
  userId: string,
  record: UserWindowRecord | undefined,
  budget: TokenBudget | undefined,
  rules: ReplyWindowRules,
  now: number,
): ReplyWindow {
  if (!record) return { userId, open: true, known: false, sendsLeft: rules.sendsPerMessage };
  const closesAt = record.lastInboundAt + rules.windowMs;
  const base = { userId, known: true, lastInboundAt: record.lastInboundAt, closesAt };
  if (now >= closesAt) return { ...base, open: false, sendsLeft: 0, closedBy: 'time' };
  if (budget?.refused) return { ...base, open: false, sendsLeft: 0, closedBy: 'server' };
  const sendsLeft = Math.max(0, rules.sendsPerMessage - (budget?.sends ?? 0));
  return sendsLeft === 0 ? { ...base, open: false, sendsLeft, closedBy: 'budget' } : { ...base, open: true, sendsLeft };
}

/** A send the server would refuse, stopped before any request. */
export class ReplyWindowError extends ILinkError {
  constructor(
    readonly window: ReplyWindow,
    /** Messages the refused send needed. */
    readonly needed: number,
    message: string,
  ) {
    super(message);
  }

  get rule(): 'window' | 'budget' {
    return this.window.closedBy === 'budget' || (this.window.open && this.needed > this.window.sendsLeft) ? 'budget' : 'window';
  }
}

const NOTHING_SENT = '(nothing was sent; to send it when they write, queue it instead)';

/** Throws ReplyWindowError when sending `needed` messages now would break a rule. */
export function assertCanSend(window: ReplyWindow, needed: number, rules: ReplyWindowRules, now: number): void {
  if (!window.known) return;
  const user = window.userId;
  const fix = 'ask them to write to the bot';
  if (window.closedBy === 'time') {
    const hours = Math.round(rules.windowMs / 3_600_000);
    throw new ReplyWindowError(
      window,
      needed,
      `${user} last wrote ${describeAgo(now - (window.lastInboundAt ?? now))} ago; iLink only delivers within ${hours} h of the user's last message: ${fix} ${NOTHING_SENT}`,
    );
  }
  if (window.closedBy === 'server') {
    throw new ReplyWindowError(window, needed, `iLink refused an earlier message to ${user} (code -2): their reply window is closed until they write again: ${fix} ${NOTHING_SENT}`);
  }
  if (needed > window.sendsLeft) {
    const limit = rules.sendsPerMessage;
    throw new ReplyWindowError(
      window,
      needed,
      window.sendsLeft === 0
        ? `all ${limit} messages iLink allows per user message to ${user} are used up: ${fix} again, or wait for their next message ${NOTHING_SENT}`
        : `this needs ${needed} messages; ${window.sendsLeft} ${window.sendsLeft === 1 ? 'is' : 'are'} left of the ${limit} iLink allows per user message to ${user}: send less (a shorter text, no caption), or ${fix} again ${NOTHING_SENT}`,
    );
  }
}

function describeAgo(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 120) return `${minutes} min`;
  const hours = ms / 3_600_000;
  return hours < 48 ? `${Math.round(hours)} h` : `${Math.round(hours / 24)} days`;
}
