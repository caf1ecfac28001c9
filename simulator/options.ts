/**
 * Simulator options and their defaults. Every time-based behaviour is
 * configurable so tests never need long real sleeps; the sending rules of
 * §10 run on a clock that tests move forward (clock.ts).
 */
import type { ClockSource } from './clock';
import type { RateLimit } from './send-rules';

export interface SimulatorOptions {
  /** TCP port of the main listener; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Refuse everything the official client never sends (default true). */
  strict?: boolean;
  /** The `longpolling_timeout_ms` announced by getupdates, and how long it holds (§5). Default 35 000. */
  longPollTimeoutMs?: number;
  /**
   * Reply window (§10, #156, #185, #204, #309): the bot can send to a user
   * only this long after that user's last message to the bot; its own sends
   * do not extend it. Afterwards sendmessage answers `{"ret":-2}`. Default 24 h.
   */
  replyWindowMs?: number;
  /**
   * Budget (§10, #81, #202): successful sendmessage calls allowed per user
   * message (each text part, caption, media item is one); the next answers
   * `{"ret":-2}` until the user writes again, which gives this many again.
   * Default 10.
   */
  sendsPerInbound?: number;
  /**
   * Rate limit (§10, #142, #270): per bot, at most `sends` successful sends
   * within any `perMs` (sliding window); the next answers
   * `{"ret":-2,"errmsg":"rate limited"}`. Default off.
   */
  rateLimit?: RateLimit;
  /**
   * errmsg of the reply-window and budget refusals. Default none (the body is
   * just `{"ret":-2}`); the real server sometimes says "prepare failed" (§10).
   */
  replyWindowErrmsg?: string;
  /**
   * The base of the simulator clock the sending rules read (reply window,
   * budget, rate limit); admin.advanceClock moves it forward. Default Date.now.
   */
  clock?: ClockSource;
  /** Lifetime of a QR code before it turns `expired` (§3). Default 120 000. */
  qrExpireMs?: number;
  /** How long one sendtyping status=1 keeps "typing…" on the chat page. Default 6 000. */
  typingDisplayMs?: number;
  /** Path prefix for the API and CDN, e.g. '/prefix', to exercise URL joining (§0). Default none. */
  basePath?: string;
  /**
   * Re-deliver on an old, unknown or empty cursor (at-least-once), as earlier
   * simulator versions did. Default false: like the real server (§10 "No
   * replay", #164), a getupdates answer consumes what it delivered.
   */
  replay?: boolean;
  /**
   * Quotes made with injectMessage's `quote` carry only the quoted message's
   * server ID (`ref_msg.svr_id`, `partial_text`, an empty `message_item`), as
   * current WeChat clients send them (§10 "ID-only quotes", #222). false: the
   * older full form (`message_item` copy and `title`). Default true.
   */
  idOnlyQuotes?: boolean;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  strict: boolean;
  longPollTimeoutMs: number;
  replyWindowMs: number;
  sendsPerInbound: number;
  /** null: off. */
  rateLimit: RateLimit | null;
  /** null: the refusal is `{"ret":-2}` without errmsg. */
  replyWindowErrmsg: string | null;
  qrExpireMs: number;
  typingDisplayMs: number;
  /** '' or '/segment[/segment…]' without a trailing slash. */
  basePath: string;
  replay: boolean;
  idOnlyQuotes: boolean;
}

export const DEFAULT_REPLY_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_SENDS_PER_INBOUND = 10;

/** The official client's QR status poll times out after 35 s (§2), so the server answers before that. */
export const QR_STATUS_MAX_HOLD_MS = 35_000;

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    strict: options.strict ?? true,
    longPollTimeoutMs: options.longPollTimeoutMs ?? 35_000,
    replyWindowMs: positive(options.replyWindowMs ?? DEFAULT_REPLY_WINDOW_MS, 'replyWindowMs'),
    sendsPerInbound: positiveInteger(options.sendsPerInbound ?? DEFAULT_SENDS_PER_INBOUND, 'sendsPerInbound'),
    rateLimit: options.rateLimit ? resolveRateLimit(options.rateLimit) : null,
    replyWindowErrmsg: options.replyWindowErrmsg || null,
    qrExpireMs: options.qrExpireMs ?? 120_000,
    typingDisplayMs: options.typingDisplayMs ?? 6_000,
    basePath: normalizeBasePath(options.basePath),
    replay: options.replay ?? false,
    idOnlyQuotes: options.idOnlyQuotes ?? true,
  };
}

export function normalizeBasePath(basePath: string | undefined): string {
  if (!basePath) return '';
  const trimmed = basePath.replace(/^\/+|\/+$/g, '');
  return trimmed ? `/${trimmed}` : '';
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a finite number > 0`);
  return value;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be an integer ≥ 1`);
  return value;
}

function resolveRateLimit(limit: RateLimit): RateLimit {
  return { sends: positiveInteger(limit.sends, 'rateLimit.sends'), perMs: positive(limit.perMs, 'rateLimit.perMs') };
}
