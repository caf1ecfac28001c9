/**
 * HTTP transport for the iLink JSON API (§1, §2): headers, base_info, URL join,
 * per-endpoint timeouts, AbortSignal, uint64-safe parsing, ret/errcode check.
 * The bot token is sent only in the Authorization header and redacted from
 * every error and log line that passes through here.
 */
import { randomInt } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { sanitizeBotAgent } from './bot-agent';
import { apiErrorFor, HttpError } from './errors';
import { parseJsonUint64Safe, stringifyWithUint64Numbers } from './json';
import { redactSecrets, silentLogger, type Logger } from './log';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version';
import { DEFAULT_API_BASE, Endpoint, EndpointTimeoutMs, type BaseInfo, type EndpointName } from './wire';

export const ILINK_APP_ID = 'bot';

export interface TransportOptions {
  /** API base URL; may carry a path prefix. Default: the official host. */
  baseUrl?: string;
  /** Bot token. Trimmed before use. */
  token?: string;
  /** Optional SKRouteTag header. */
  routeTag?: string | number;
  /** bot_agent, sanitized per §1. Default: this package's name/version. */
  botAgent?: string;
  /** Our own version, sent as channel_version and encoded as iLink-App-ClientVersion. */
  channelVersion?: string;
  /** Per-endpoint timeout overrides in ms (0 = none). */
  timeouts?: Partial<Record<EndpointName, number>>;
  /** undici dispatcher (proxy agent, mock, custom pool). */
  dispatcher?: Dispatcher;
  logger?: Logger;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the endpoint's timeout for this call (ms; 0 = none). */
  timeoutMs?: number;
  /** Overrides the base URL for this call (QR endpoints, redirect hosts). */
  baseUrl?: string;
  /** Query string parameters. */
  query?: Record<string, string | undefined>;
  /**
   * Once the answer's headers are in, read its body to the end even when
   * `signal` aborts or `timeoutMs` runs out, within BODY_TIMEOUT_MS. For
   * getupdates: the server has handed those messages out and never sends
   * them again (§10), so a body cut off is messages lost.
   */
  readWholeBody?: boolean;
}

/** The most a body may take with `readWholeBody`, from its headers on. */
export const BODY_TIMEOUT_MS = 30_000;

/**
 * The largest API answer read (a getupdates answer of 100 messages is well
 * under 1 MiB; media goes through the CDN, not here). A wrong or hostile base
 * URL cannot make the process read without end.
 */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** iLink-App-ClientVersion: (major&0xFF)<<16 | (minor&0xFF)<<8 | (patch&0xFF), as a decimal string (§1). */
export function encodeClientVersion(version: string): string {
  const [major, minor, patch] = version.split(/[.+-]/).map((part) => Number.parseInt(part, 10) || 0);
  return String((((major ?? 0) & 0xff) << 16) | (((minor ?? 0) & 0xff) << 8) | ((patch ?? 0) & 0xff));
}

/**
 * X-WECHAT-UIN: a random uint32 in decimal ASCII, then standard base64 (§1).
 * randomInt draws from Node's cached random pool, so a request costs no RNG call of its own.
 */
export function encodeWechatUin(value: number = randomInt(0, 2 ** 32)): string {
  return Buffer.from(String(value >>> 0), 'ascii').toString('base64');
}

/** Resolves an endpoint path against a base that may carry a path prefix (§0 URL join). */
export function joinUrl(base: string, path: string): URL {
  return new URL(path.replace(/^\/+/, ''), base.endsWith('/') ? base : `${base}/`);
}

/** True for an abort, whichever realm made the error (DOMException is not always `instanceof Error`). */
export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (isAbortError(reason)) return reason as Error;
  return new DOMException('The operation was aborted', 'AbortError');
}

export class Transport {
  readonly baseUrl: string;
  readonly channelVersion: string;
  readonly botAgent: string;
  private readonly token: string | undefined;
  private readonly routeTag: string | undefined;
  private readonly timeouts: Record<EndpointName, number>;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly logger: Logger;

  constructor(options: TransportOptions = {}) {
    this.baseUrl = options.baseUrl?.trim() || DEFAULT_API_BASE;
    this.token = options.token?.trim() || undefined;
    this.routeTag = options.routeTag === undefined || options.routeTag === '' ? undefined : String(options.routeTag);
    this.channelVersion = options.channelVersion ?? PACKAGE_VERSION;
    this.botAgent = sanitizeBotAgent(options.botAgent ?? `${PACKAGE_NAME}/${PACKAGE_VERSION}`);
    this.timeouts = { ...EndpointTimeoutMs, ...options.timeouts };
    this.dispatcher = options.dispatcher;
    this.logger = options.logger ?? silentLogger;
  }

  get hasToken(): boolean {
    return this.token !== undefined;
  }

    baseInfo(): BaseInfo {
    return { channel_version: this.channelVersion, bot_agent: this.botAgent };
  }

  /** §1: a JSON body as iLink expects it, with base_info; a base_info the caller already set is kept. */
  withBaseInfo<T extends object>(body: T): T & { base_info: BaseInfo } {
    return 'base_info' in body ? (body as T & { base_info: BaseInfo }) : { ...body, base_info: this.baseInfo() };
  }

  /** Removes the token from any text before it reaches a log or an error. */
  redact(text: string): string {
    return redactSecrets(text, [this.token]);
  }

  /** Headers for JSON POSTs (§1). X-WECHAT-UIN is new for each request. */
  postHeaders(): Record<string, string> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      AuthorizationType: 'ilink_bot_token',
      'X-WECHAT-UIN': encodeWechatUin(),
      ...this.appHeaders(),
    };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** Headers for GETs (get_qrcode_status): only the app headers (§1). */
  appHeaders(): Record<string, string> {
    const headers: Record<string, string> = {
      'iLink-App-Id': ILINK_APP_ID,
      'iLink-App-ClientVersion': encodeClientVersion(this.channelVersion),
    };
    if (this.routeTag !== undefined) headers.SKRouteTag = this.routeTag;
    return headers;
  }

  /**
   * POSTs a JSON body. base_info is added to every body except get_bot_qrcode.
   * Throws ApiError (or a subclass) on ret/errcode ≠ 0, HttpError on transport
   * failure, and an AbortError when the caller's signal aborts.
   */
  async post<T>(endpoint: EndpointName, body: object, options: CallOptions = {}): Promise<T> {
    const payload = endpoint === 'getBotQrcode' ? body : this.withBaseInfo(body);
    const text = endpoint === 'recallMessage' ? stringifyWithUint64Numbers(payload, ['msg_id']) : JSON.stringify(payload);
    return this.call<T>(endpoint, 'POST', this.postHeaders(), text, options);
  }

  async get<T>(endpoint: EndpointName, options: CallOptions = {}): Promise<T> {
    return this.call<T>(endpoint, 'GET', this.appHeaders(), undefined, options);
  }

  private async call<T>(
    endpoint: EndpointName,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body: string | undefined,
    options: CallOptions,
  ): Promise<T> {
    const url = joinUrl(options.baseUrl ?? this.baseUrl, Endpoint[endpoint]);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const name = Endpoint[endpoint].replace('ilink/bot/', '');
    if (options.signal?.aborted) throw abortError(options.signal);

    const timeoutMs = options.timeoutMs ?? this.timeouts[endpoint];
    const timeout = new AbortController();
    // In (its headers with readWholeBody, else all of it): the timeout no longer applies.
    let answered = false;
    // On a busy event loop the timer and the answer can be due in the same turn, the timer first: the
    // abort waits until that turn's I/O is read, so an answer already here is not thrown away. For a
    // long poll that matters: the server counts an answer it wrote as delivered, and never replays it (§10).
    let timer = timeoutMs > 0 ? setTimeout(() => setImmediate(() => answered || timeout.abort()), Math.min(timeoutMs, 2_147_483_647)) : undefined;
    // With readWholeBody, the caller's signal only counts until the headers are in (then `request` is detached from it).
    const request_ = new AbortController();
    const forwardAbort = () => request_.abort();
    options.signal?.addEventListener('abort', forwardAbort, { once: true });
    timeout.signal.addEventListener('abort', forwardAbort, { once: true });
    let bodyTimedOut = false;

    let statusCode: number;
    let text: string;
    try {
      const response = await request(url, { method, headers, body, signal: request_.signal, dispatcher: this.dispatcher });
      statusCode = response.statusCode;
      if (options.readWholeBody) {
        answered = true;
        options.signal?.removeEventListener('abort', forwardAbort);
        timeout.signal.removeEventListener('abort', forwardAbort);
        clearTimeout(timer);
        timer = setTimeout(() => {
          bodyTimedOut = true;
          request_.abort();
        }, BODY_TIMEOUT_MS);
      }
      text = await readCapped(response.body, MAX_ANSWER_BYTES, () => request_.abort());
      answered = true;
    } catch (error) {
      if (error instanceof AnswerTooLargeError) throw new HttpError(name, 'malformed', `the answer is larger than ${MAX_ANSWER_BYTES} bytes, so it was not read`, { cause: error });
      if (bodyTimedOut) throw new HttpError(name, 'network', `the answer's body did not arrive within ${BODY_TIMEOUT_MS} ms`, { cause: error });
      if (options.signal?.aborted) throw abortError(options.signal);
      if (timeout.signal.aborted) {
        throw new HttpError(name, 'timeout', `no answer within ${timeoutMs} ms`, { cause: error });
      }
      const detail = this.redact(error instanceof Error ? error.message : String(error));
      throw new HttpError(name, 'network', `request failed: ${detail}`, { cause: error });
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', forwardAbort);
    }

    if (statusCode < 200 || statusCode > 299) {
      const snippet = this.redact(text.slice(0, 200)).trim();
      throw new HttpError(name, 'status', `HTTP ${statusCode}${snippet ? ` (${snippet})` : ''}`, { status: statusCode });
    }
    let parsed: unknown;
    try {
      parsed = parseJsonUint64Safe(text);
    } catch (error) {
      throw new HttpError(name, 'malformed', `the reply is not valid JSON`, { cause: error, status: statusCode });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new HttpError(name, 'malformed', 'the reply is not a JSON object', { status: statusCode });
    }
    const status = parsed as { ret?: unknown; errcode?: unknown; errmsg?: unknown };
    const apiError = apiErrorFor(name, {
      ret: typeof status.ret === 'number' ? status.ret : undefined,
      errcode: typeof status.errcode === 'number' ? status.errcode : undefined,
      errmsg: typeof status.errmsg === 'string' ? this.redact(status.errmsg) : undefined,
    });
    if (apiError) {
      this.logger.debug(apiError.message);
      throw apiError;
    }
    return parsed as T;
  }
}

class AnswerTooLargeError extends Error {}

/** The body as text, failing (and dropping the connection) once it passes `limit` bytes. */
async function readCapped(body: AsyncIterable<Buffer | Uint8Array>, limit: number, abort: () => void): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      abort();
      throw new AnswerTooLargeError(`over ${limit} bytes`);
    }
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
