/**
 * QR login (§3). `LoginSession` runs the official state machine: fetch a QR
 * code, long-poll its status, follow redirects, ask for a verification number,
 * refresh up to 3 codes, and finish with the bot's credentials.
 *
 * The steps are also exported one by one (fetchQrCode, pollQrStatus) for hosts
 * that must drive the login across separate calls (n8n's credential hook).
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from './clock';
import { LoginError } from './errors';
import { renderQrDataUrl, renderQrPng } from './qr';
import { abortError, isAbortError, Transport, type TransportOptions } from './transport';
import { BOT_TYPE, DEFAULT_API_BASE, type GetBotQrcodeResponse, type GetQrcodeStatusResponse, type QrStatus } from './wire';

export const LOGIN_DEADLINE_MS = 480_000;
export const MAX_QR_CODES = 3;
export const QR_POLL_GAP_MS = 1_000;

export interface QrCode {
  /** Opaque handle used to poll the status. */
  qrcode: string;
  /** The content to encode in the QR image (a URL the WeChat app opens). */
  content: string;
  /** 1 for the first code, 2 and 3 for refreshes. */
  index: number;
}

/** What a successful login yields. Persist all four (§3 confirmed). */
export interface LoginCredentials {
  token: string;
  botId: string;
  /** API base for this account (the server's baseurl, else the login's API base). */
  baseUrl: string;
  /** The WeChat user who scanned: the bot's owner. */
  userId: string;
}

export type LoginResult =
  | ({ kind: 'confirmed' } & LoginCredentials)
  /** binded_redirect: this bot is already bound to a token we hold; keep the existing credentials. */
  | { kind: 'already-bound' };

export interface LoginOptions extends Omit<TransportOptions, 'token' | 'baseUrl'> {
  /** The QR endpoints' host (§0: always the fixed default, unless redirected). */
  baseUrl?: string;
  /** Stored bot tokens, most recent first (at most 10 are sent), so the server can answer binded_redirect. */
  localTokens?: string[];
  /** Total time allowed (default 480 s, minimum 1 s). */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Asked for the number shown on the phone when the server wants one; may also be given via submitVerifyCode(). */
  verifyCode?: (info: { wrong: boolean }) => Promise<string>;
  maxQrCodes?: number;
  pollGapMs?: number;
  clock?: Clock;
}

export interface LoginEvents {
  qrcode: [QrCode];
  status: [QrStatus];
  scanned: [];
  redirected: [string];
  'verify-code': [{ wrong: boolean }];
  refreshed: [QrCode];
}

/** get_bot_qrcode (§2): POST with the local token list, on the fixed host. */
export async function fetchQrCode(
  transport: Transport,
  localTokens: string[] = [],
  signal?: AbortSignal,
): Promise<{ qrcode: string; content: string }> {
  const response = await transport.post<GetBotQrcodeResponse>(
    'getBotQrcode',
    { local_token_list: localTokens.filter(Boolean).slice(0, 10) },
    { signal, query: { bot_type: BOT_TYPE } },
  );
  if (typeof response.qrcode !== 'string' || !response.qrcode) throw new LoginError('bad_response');
  const content = typeof response.qrcode_img_content === 'string' && response.qrcode_img_content ? response.qrcode_img_content : response.qrcode;
  return { qrcode: response.qrcode, content };
}

/**
 * One get_qrcode_status long poll (35 s by default). Anything but a usable
 * answer (timeout, network error, non-2xx, bad body) counts as `wait` (§3).
 */
export async function pollQrStatus(
  transport: Transport,
  qrcode: string,
  options: { baseUrl?: string; verifyCode?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<GetQrcodeStatusResponse & { status: QrStatus }> {
  try {
    const response = await transport.get<GetQrcodeStatusResponse>('getQrcodeStatus', {
      baseUrl: options.baseUrl,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      query: { qrcode, verify_code: options.verifyCode || undefined },
    });
    const status = typeof response.status === 'string' && response.status ? response.status : 'wait';
    return { ...response, status };
  } catch (error) {
    if (options.signal?.aborted || isAbortError(error)) throw error;
    return { status: 'wait' };
  }
}

/** The redirect target keeps the scheme of the current base (https for the real server). */
export function redirectBase(currentBase: string, redirectHost: string): string {
  const scheme = new URL(currentBase).protocol;
  return `${scheme}//${redirectHost.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')}/`;
}

/** Reads confirmed credentials; ilink_bot_id is required (§3). */
export function credentialsFromConfirmed(response: GetQrcodeStatusResponse, fallbackBaseUrl: string): LoginCredentials {
  if (!response.bot_token) throw new LoginError('bad_response', 'confirmed without a bot token');
  if (!response.ilink_bot_id) throw new LoginError('missing_bot_id');
  return {
    token: response.bot_token,
    botId: response.ilink_bot_id,
    baseUrl: response.baseurl?.trim() || fallbackBaseUrl,
    userId: response.ilink_user_id ?? '',
  };
}

export class LoginSession extends EventEmitter<LoginEvents> {
  private readonly transport: Transport;
  private readonly options: LoginOptions;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private readonly signal: AbortSignal;
  private current: QrCode | undefined;
  private pendingCode: string | undefined;
  /** A number given before the session asked for one. */
  private earlyCode: string | undefined;
  private codeWaiter: ((code: string) => void) | undefined;
  private waiting: Promise<LoginResult> | undefined;

  private constructor(options: LoginOptions) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.transport = new Transport({ ...options, baseUrl: options.baseUrl ?? DEFAULT_API_BASE });
    this.signal = options.signal ? AbortSignal.any([options.signal, this.abort.signal]) : this.abort.signal;
  }

  /** Fetches the first QR code (the seed's StartLogin). Show `qr` to the user, then call wait(). */
  static async start(options: LoginOptions = {}): Promise<LoginSession> {
    const session = new LoginSession(options);
    await session.nextQrCode();
    return session;
  }

  get qr(): QrCode {
    return this.current as QrCode;
  }

  /** The QR code as a PNG image. */
  qrPng(): Promise<Buffer> {
    return renderQrPng(this.qr.content);
  }

  /** The QR code as a data: URL (for an <img>). */
  qrDataUrl(): Promise<string> {
    return renderQrDataUrl(this.qr.content);
  }

  /** Gives the number shown on the phone after a 'verify-code' event. */
  submitVerifyCode(code: string): void {
    const digits = String(code).trim();
    if (this.codeWaiter) {
      const waiter = this.codeWaiter;
      this.codeWaiter = undefined;
      waiter(digits);
    } else {
      this.earlyCode = digits;
    }
  }

  cancel(): void {
    this.abort.abort();
  }

  /** Polls until confirmed (the seed's Login.Wait). Rejects with LoginError. */
  wait(): Promise<LoginResult> {
    this.waiting ??= this.run();
    return this.waiting;
  }

  private async nextQrCode(): Promise<QrCode> {
    const index = (this.current?.index ?? 0) + 1;
    // The QR endpoints always live on the fixed host, never on a redirect host (§0).
    const fetched = await fetchQrCode(this.transport, this.options.localTokens, this.signal).catch((error) => {
      if (this.signal.aborted || isAbortError(error)) throw new LoginError('aborted');
      throw error;
    });
    this.current = { ...fetched, index };
    this.pendingCode = undefined;
    this.earlyCode = undefined;
    this.emit('qrcode', this.current);
    if (index > 1) this.emit('refreshed', this.current);
    return this.current;
  }

  private async run(): Promise<LoginResult> {
    const deadlineMs = Math.max(1_000, this.options.deadlineMs ?? LOGIN_DEADLINE_MS);
    const deadline = this.clock.now() + deadlineMs;
    const maxQrCodes = this.options.maxQrCodes ?? MAX_QR_CODES;
    const gap = this.options.pollGapMs ?? QR_POLL_GAP_MS;
    let pollBase = this.transport.baseUrl;
    let verifyAsked = false;

    try {
      for (;;) {
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) throw new LoginError('timeout');
        const answer = await pollQrStatus(this.transport, this.qr.qrcode, {
          baseUrl: pollBase,
          verifyCode: this.pendingCode,
          signal: this.signal,
          timeoutMs: Math.min(35_000, remaining),
        });
        this.emit('status', answer.status);
        switch (answer.status) {
          case 'confirmed':
            return { kind: 'confirmed', ...credentialsFromConfirmed(answer, this.transport.baseUrl) };
          case 'binded_redirect':
            return { kind: 'already-bound' };
          case 'scaned':
            // A pending verification number was accepted: stop sending it.
            this.pendingCode = undefined;
            verifyAsked = false;
            this.emit('scanned');
            break;
          case 'scaned_but_redirect':
            if (answer.redirect_host) {
              pollBase = redirectBase(pollBase, answer.redirect_host);
              this.emit('redirected', pollBase);
            }
            break;
          case 'need_verifycode': {
            const wrong = verifyAsked && this.pendingCode !== undefined;
            verifyAsked = true;
            this.pendingCode = await this.askVerifyCode(wrong, deadline);
            continue; // re-poll at once with the code (§3)
          }
          case 'verify_code_blocked':
          case 'expired':
            if (this.qr.index >= maxQrCodes) {
              throw new LoginError(answer.status === 'expired' ? 'qr_expired' : 'verify_code_blocked');
            }
            verifyAsked = false;
            pollBase = this.transport.baseUrl;
            await this.nextQrCode();
            break;
          default:
            break; // wait, or a status we do not know yet
        }
        await this.clock.sleep(gap, this.signal);
      }
    } catch (error) {
      if (error instanceof LoginError) throw error;
      if (this.signal.aborted || isAbortError(error)) throw new LoginError('aborted');
      throw error;
    }
  }

  private askVerifyCode(wrong: boolean, deadline: number): Promise<string> {
    this.pendingCode = undefined;
    this.emit('verify-code', { wrong });
    if (this.options.verifyCode) return this.options.verifyCode({ wrong });
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LoginError('timeout')), Math.max(0, deadline - this.clock.now()));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(this.signal));
      };
      this.signal.addEventListener('abort', onAbort, { once: true });
      this.codeWaiter = (code) => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', onAbort);
        resolve(code);
      };
      if (this.earlyCode !== undefined) {
        const early = this.earlyCode;
        this.earlyCode = undefined;
        this.submitVerifyCode(early);
      }
    });
  }
}
