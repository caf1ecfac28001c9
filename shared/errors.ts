/**
 * Typed errors. Every message says what happened and what to do next.
 * `ApiError` = the server said no; `HttpError` = the request did not get a
 * usable answer. Messages never contain the bot token (transport redacts).
 */

export class ILinkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server answered with ret ≠ 0 or errcode ≠ 0. */
export class ApiError extends ILinkError {
  readonly ret?: number;
  readonly errcode?: number;
  readonly errmsg?: string;
  readonly endpoint: string;

  constructor(endpoint: string, status: { ret?: number; errcode?: number; errmsg?: string }, message?: string) {
    const code = status.errcode !== undefined && status.errcode !== 0 ? `errcode ${status.errcode}` : `ret ${status.ret}`;
    super(message ?? `iLink ${endpoint} failed (${code}${status.errmsg ? `: ${status.errmsg}` : ''})`);
    this.endpoint = endpoint;
    this.ret = status.ret;
    this.errcode = status.errcode;
    this.errmsg = status.errmsg;
  }

  /** The non-zero code, errcode first. */
  get code(): number | undefined {
    if (this.errcode !== undefined && this.errcode !== 0) return this.errcode;
    return this.ret;
  }
}

/** -14: the bot session is gone (logged in elsewhere, or expired). */
export class SessionExpiredError extends ApiError {
  constructor(endpoint: string, status: { ret?: number; errcode?: number; errmsg?: string }) {
    super(endpoint, status, `session expired (iLink code -14 on ${endpoint}): scan the QR code again to log the bot in`);
  }
}

/**
 * -2: on sendmessage the reply window is closed (24 h since the user's last
 * message) or the 10 messages per user message are used up (§10); elsewhere
 * the context token or another parameter was refused.
 */
export class ContextTokenError extends ApiError {
  constructor(endpoint: string, status: { ret?: number; errcode?: number; errmsg?: string }) {
    const carriesToken = endpoint === 'sendmessage' || endpoint === 'getconfig' || endpoint === 'sendtyping';
    super(
      endpoint,
      status,
      `iLink rejected the request (code -2 on ${endpoint}${status.errmsg ? `: ${status.errmsg}` : ''}): ` +
        (endpoint === 'sendmessage'
          ? "the user's reply window has closed (iLink delivers only within 24 h of the user's last message, at most 10 messages per user message), " +
            'or the context token has probably expired; the user must send the bot a new message before it can answer'
          : carriesToken
            ? 'the context token has probably expired; the user must send the bot a new message before it can answer'
            : 'a parameter was refused; check the settings (API base URL, IDs) and try again'),
    );
  }
}

/** -2 "rate limited" (§10): iLink is throttling this bot. Not an expired token; it passes with time. */
export class RateLimitedError extends ApiError {
  constructor(endpoint: string, status: { ret?: number; errcode?: number; errmsg?: string }, detail?: string) {
    super(
      endpoint,
      status,
      `iLink is rate limiting this bot (code -2 on ${endpoint}: rate limited)${detail ? `; ${detail}` : ''}: ` +
        'wait a few minutes before sending again, and send fewer messages in a row',
    );
  }
}

/** True for the server's rate-limit answer: ret -2 with errmsg "rate limited" (§10). */
export function isRateLimitStatus(status: { ret?: number; errcode?: number; errmsg?: string }): boolean {
  return (status.ret === -2 || status.errcode === -2) && /rate.?limit/i.test(status.errmsg ?? '');
}

/** Endpoints whose callers retry on their own (§3, §5): getupdates and the QR status poll. */
const RETRIED_ENDPOINTS = new Set(['getupdates', 'get_qrcode_status']);

/** Network failure, timeout, non-2xx status or an unparseable body. */
export class HttpError extends ILinkError {
  readonly endpoint: string;
  readonly status?: number;
  readonly kind: 'network' | 'timeout' | 'status' | 'malformed';

  constructor(endpoint: string, kind: HttpError['kind'], detail: string, options: { status?: number; cause?: unknown } = {}) {
    const next =
      kind === 'malformed'
        ? 'the server sent something that is not iLink JSON; check the API base URL'
        : kind === 'status' && (options.status === 401 || options.status === 403)
          ? 'check the bot token, or log in again'
          : RETRIED_ENDPOINTS.has(endpoint)
            ? 'check the network and the API base URL; it will be retried'
            : endpoint === 'sendmessage' && (kind === 'network' || kind === 'timeout')
              ? // The request may have reached the server before the connection broke.
                'check the network and the API base URL; the message may have arrived anyway (it was not resent, to avoid a duplicate), so check the chat before sending again'
              : 'check the network and the API base URL, then try again (it was not sent again automatically)';
    super(`iLink ${endpoint}: ${detail}; ${next}`, { cause: options.cause });
    this.endpoint = endpoint;
    this.kind = kind;
    this.status = options.status;
  }
}

export type LoginErrorKind = 'qr_expired' | 'verify_code_blocked' | 'timeout' | 'aborted' | 'missing_bot_id' | 'bad_response';

const loginMessages: Record<LoginErrorKind, string> = {
  qr_expired: 'login failed: 3 QR codes expired without being confirmed; start the login again and scan the new code promptly',
  verify_code_blocked: 'login failed: too many wrong verification numbers; start the login again',
  timeout: 'login timed out before the QR code was confirmed; start the login again',
  aborted: 'login cancelled',
  missing_bot_id: 'login failed: the server confirmed without a bot ID (ilink_bot_id); start the login again',
  bad_response: 'login failed: the server did not return a QR code; check the API base URL and try again',
};

export class LoginError extends ILinkError {
  readonly kind: LoginErrorKind;
  constructor(kind: LoginErrorKind, detail?: string) {
    super(detail ? `${loginMessages[kind]} (${detail})` : loginMessages[kind]);
    this.kind = kind;
  }
}

/** Bad input from the caller; nothing was sent. */
export class ValidationError extends ILinkError {}

/** No context token for a recipient: iLink only lets a bot answer after the user writes. */
export class NoContextTokenError extends ILinkError {
  readonly userId: string;
  constructor(userId: string) {
    super(
      `no context token for ${userId}: this user has not messaged the bot yet, or their context token expired; ` +
        'iLink only lets a bot answer after the user writes (ask them to send a message first)',
    );
    this.userId = userId;
  }
}

/** Turns a wire status into the right typed error, or undefined when it is a success (§2). */
export function apiErrorFor(endpoint: string, status: { ret?: number; errcode?: number; errmsg?: string }): ApiError | undefined {
  const ret = typeof status.ret === 'number' ? status.ret : 0;
  const errcode = typeof status.errcode === 'number' ? status.errcode : 0;
  if (ret === 0 && errcode === 0) return undefined;
  if (ret === -14 || errcode === -14) return new SessionExpiredError(endpoint, status);
  if (isRateLimitStatus(status)) return new RateLimitedError(endpoint, status);
  if (ret === -2 || errcode === -2) return new ContextTokenError(endpoint, status);
  return new ApiError(endpoint, status);
}
