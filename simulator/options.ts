/**
 * Simulator options and their defaults. Every time-based behaviour is
 * configurable so tests never need long real sleeps.
 */

export interface SimulatorOptions {
  /** TCP port of the main listener; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Refuse everything the official client never sends (default true). */
  strict?: boolean;
  /** The `longpolling_timeout_ms` announced by getupdates, and how long it holds (§5). Default 35 000. */
  longPollTimeoutMs?: number;
  /** Idle time after which a context_token stops working (§6, §9). Default 24 h. */
  contextTokenTtlMs?: number;
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
  contextTokenTtlMs: number;
  qrExpireMs: number;
  typingDisplayMs: number;
  /** '' or '/segment[/segment…]' without a trailing slash. */
  basePath: string;
  replay: boolean;
  idOnlyQuotes: boolean;
}

/** The official client's QR status poll times out after 35 s (§2), so the server answers before that. */
export const QR_STATUS_MAX_HOLD_MS = 35_000;

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    strict: options.strict ?? true,
    longPollTimeoutMs: options.longPollTimeoutMs ?? 35_000,
    contextTokenTtlMs: options.contextTokenTtlMs ?? 24 * 60 * 60 * 1000,
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
