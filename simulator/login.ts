/**
 * QR login (§3): one session per QR code, moved along by the phone page (or
 * admin calls) and observed through the get_qrcode_status long poll.
 *
 * Statuses are only the ones the real server sends: wait, scaned,
 * scaned_but_redirect, need_verifycode, verify_code_blocked, expired,
 * binded_redirect, confirmed.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { GetQrcodeStatusResponse, QrStatus } from '../shared/wire';
import { newQrcode, newVerifyCode } from './ids';
import type { SimState } from './state';
import type { Waits } from './waits';

export const DEFAULT_PHONE_USER = 'wxid_demo@im.wechat';
/** Wrong verify codes allowed before verify_code_blocked. */
export const MAX_WRONG_VERIFY_CODES = 3;
const SESSION_CAP = 500;

export interface LoginScenario {
  /** The phone shows a 2-digit number the client must send back as verify_code. */
  verifyCode?: boolean;
  /** After the scan the main host answers scaned_but_redirect; the login finishes on the second listener. */
  redirect?: boolean;
  /** The first status poll scans and confirms by itself (as DEFAULT_PHONE_USER). */
  autoConfirm?: boolean;
  /** baseurl answered by `confirmed` (default: the simulator's own API base). */
  accountBaseUrl?: string;
  /** Lifetime of codes created from now on (default: the qrExpireMs option). */
  qrExpireMs?: number;
}

export type HostKind = 'main' | 'redirect';
type InternalStatus = Exclude<QrStatus, 'scaned_but_redirect'>;

const TERMINAL: ReadonlySet<string> = new Set(['expired', 'binded_redirect', 'confirmed', 'verify_code_blocked']);

interface QrSession {
  qrcode: string;
  createdAt: number;
  expiresAt: number;
  localTokens: string[];
  scenario: LoginScenario;
  status: InternalStatus;
  verifyCode?: string;
  wrongCodes: number;
  userId?: string;
  credentials?: { bot_token: string; ilink_bot_id: string; baseurl: string; ilink_user_id: string };
  /** Last status each host answered, so a poll holds while nothing new happened. */
  lastReported: Record<HostKind, string>;
  expiryTimer: NodeJS.Timeout;
}

export interface PhoneView {
  qrcode: string;
  status: InternalStatus;
  verifyCode?: string;
  userId?: string;
  expiresAt: number;
}

export interface LoginDeps {
  state: SimState;
  waits: Waits;
  qrExpireMs: number;
  statusHoldMs: number;
  /** The simulator's own base URL (phone page links). */
  siteUrl: () => string;
  /** Default account baseurl for confirmed logins. */
  accountBaseUrl: () => string;
  /** host:port of the second listener. */
  redirectHost: () => string;
}

export class LoginService {
  private readonly sessions = new Map<string, QrSession>();
  private readonly changes = new EventEmitter();
  private scenarioValue: LoginScenario = {};
  private lastCode: string | undefined;

  constructor(private readonly deps: LoginDeps) {
    this.changes.setMaxListeners(0);
  }

  setScenario(scenario: LoginScenario): void {
    this.scenarioValue = { ...scenario };
  }

  scenario(): LoginScenario {
    return { ...this.scenarioValue };
  }

  lastQrcode(): string | undefined {
    return this.lastCode;
  }

  /** get_bot_qrcode: the image content is the phone page URL, so opening it is scanning it. */
  createQrcode(localTokens: string[]): { qrcode: string; qrcode_img_content: string } {
    const qrcode = newQrcode();
    const scenario = { ...this.scenarioValue };
    const lifetime = scenario.qrExpireMs ?? this.deps.qrExpireMs;
    const now = Date.now();
    const expiryTimer = setTimeout(() => this.expire(qrcode), lifetime);
    expiryTimer.unref();
    this.sessions.set(qrcode, {
      qrcode,
      createdAt: now,
      expiresAt: now + lifetime,
      localTokens: [...localTokens],
      scenario,
      status: 'wait',
      wrongCodes: 0,
      lastReported: { main: 'wait', redirect: 'wait' },
      expiryTimer,
    });
    this.lastCode = qrcode;
    this.trimSessions();
    return { qrcode, qrcode_img_content: `${this.deps.siteUrl()}/phone/${qrcode}` };
  }

  /**
   * get_qrcode_status. Answers at once when there is news for this host (or
   * the status is final, or a verify code was just checked); otherwise holds
   * until something changes or the hold time passes. Undefined means the
   * client went away or the simulator stopped.
   */
  async pollStatus(qrcode: string, host: HostKind, verifyCode: string | undefined, res?: ServerResponse): Promise<GetQrcodeStatusResponse | undefined> {
    const session = this.sessions.get(qrcode);
    // An unknown code (never issued, or forgotten) is as good as expired: the client fetches a new one.
    if (!session) return { status: 'expired' };
    if (session.scenario.autoConfirm && session.status === 'wait') this.scan(qrcode);

    let checkedCode = false;
    if (verifyCode && session.status === 'need_verifycode' && this.hostSeesRealStatus(session, host)) {
      this.checkVerifyCode(session, verifyCode);
      checkedCode = true;
    }
    const now = this.view(session, host);
    if (checkedCode || TERMINAL.has(now.status ?? '') || session.lastReported[host] !== now.status) return this.report(session, host, now);

    const outcome = await this.deps.waits.wait({
      timeoutMs: this.deps.statusHoldMs,
      res,
      subscribe: (wake) => {
        this.changes.on(qrcode, wake);
        return () => this.changes.off(qrcode, wake);
      },
    });
    if (outcome === 'closed' || outcome === 'stopped') return undefined;
    return this.report(session, host, this.view(session, host));
  }

  /** The phone opened the QR page. Idempotent; returns the status afterwards. */
  scan(qrcode: string, userId?: string): InternalStatus {
    const session = this.requireSession(qrcode);
    if (session.status !== 'wait') return session.status;
    session.userId = userId ?? session.userId ?? DEFAULT_PHONE_USER;
    if (session.scenario.verifyCode) {
      session.verifyCode = newVerifyCode();
      session.status = 'need_verifycode';
    } else {
      session.status = 'scaned';
    }
    this.changed(session);
    if (session.scenario.autoConfirm && session.status === 'scaned') this.confirm(qrcode);
    return session.status;
  }

  /** The phone pressed Confirm. Scans first if needed; refuses while a verify code is pending or the code is final. */
  confirm(qrcode: string, userId?: string): InternalStatus {
    const session = this.requireSession(qrcode);
    if (session.status === 'wait') this.scan(qrcode, userId);
    if (session.status === 'confirmed' || session.status === 'binded_redirect') return session.status;
    if (session.status === 'need_verifycode') throw new Error('the client has not entered the verify code yet');
    if (session.status !== 'scaned') throw new Error(`cannot confirm: the QR code is ${session.status}`);
    const user = userId || session.userId || DEFAULT_PHONE_USER;
    session.userId = user;

    // binded_redirect: the client already holds a live token of this user's bot (§3, §8 #1).
    const alreadyBound = session.localTokens.some((token) => {
      const found = this.deps.state.lookupToken(token);
      return found.kind === 'valid' && found.bot.ownerUserId === user;
    });
    if (alreadyBound) {
      session.status = 'binded_redirect';
    } else {
      const baseUrl = session.scenario.accountBaseUrl ?? this.deps.accountBaseUrl();
      const existing = this.deps.state.botOwnedBy(user);
      // A new login of the same owner re-binds that bot with a fresh token; the old token then answers -14.
      const bot = existing ? this.deps.state.rebindBot(existing.botId, baseUrl) : this.deps.state.createBot({ ownerUserId: user, baseUrl });
      session.credentials = { bot_token: bot.token, ilink_bot_id: bot.botId, baseurl: bot.baseUrl, ilink_user_id: user };
      session.status = 'confirmed';
    }
    this.changed(session);
    return session.status;
  }

  /** The phone pressed Cancel: the code is dead (there is no `cancelled` status, §3). */
  cancel(qrcode: string): InternalStatus {
    const session = this.requireSession(qrcode);
    if (!TERMINAL.has(session.status)) {
      session.status = 'expired';
      this.changed(session);
    }
    return session.status;
  }

  verifyCodeFor(qrcode: string): string | undefined {
    return this.requireSession(qrcode).verifyCode;
  }

  phoneView(qrcode: string): PhoneView | undefined {
    const session = this.sessions.get(qrcode);
    if (!session) return undefined;
    return {
      qrcode,
      status: session.status,
      verifyCode: session.status === 'need_verifycode' ? session.verifyCode : undefined,
      userId: session.userId,
      expiresAt: session.expiresAt,
    };
  }

  reset(): void {
    for (const session of this.sessions.values()) {
      clearTimeout(session.expiryTimer);
      this.changes.emit(session.qrcode);
    }
    this.sessions.clear();
    this.scenarioValue = {};
    this.lastCode = undefined;
  }

  stop(): void {
    for (const session of this.sessions.values()) clearTimeout(session.expiryTimer);
  }

  // ---- internals ----

  private hostSeesRealStatus(session: QrSession, host: HostKind): boolean {
    return host === 'redirect' || !session.scenario.redirect;
  }

  /** What this host answers now. With the redirect scenario the main host never reveals more than the redirect. */
  private view(session: QrSession, host: HostKind): GetQrcodeStatusResponse {
    if (!this.hostSeesRealStatus(session, host) && session.status !== 'wait' && session.status !== 'expired') {
      return { status: 'scaned_but_redirect', redirect_host: this.deps.redirectHost() };
    }
    if (session.status === 'confirmed' && session.credentials) return { status: 'confirmed', ...session.credentials };
    return { status: session.status };
  }

  private report(session: QrSession, host: HostKind, answer: GetQrcodeStatusResponse): GetQrcodeStatusResponse {
    session.lastReported[host] = answer.status ?? '';
    return answer;
  }

  private checkVerifyCode(session: QrSession, code: string): void {
    if (code === session.verifyCode) {
      session.status = 'scaned';
      session.verifyCode = undefined;
      this.changed(session);
      if (session.scenario.autoConfirm) this.confirm(session.qrcode);
      return;
    }
    session.wrongCodes += 1;
    if (session.wrongCodes >= MAX_WRONG_VERIFY_CODES) {
      session.status = 'verify_code_blocked';
      session.verifyCode = undefined;
    }
    this.changed(session);
  }

  private expire(qrcode: string): void {
    const session = this.sessions.get(qrcode);
    if (!session || TERMINAL.has(session.status)) return;
    session.status = 'expired';
    this.changed(session);
  }

  private changed(session: QrSession): void {
    this.changes.emit(session.qrcode);
  }

  private requireSession(qrcode: string): QrSession {
    const session = this.sessions.get(qrcode);
    if (!session) throw new Error(`unknown QR code ${qrcode}`);
    return session;
  }

  private trimSessions(): void {
    while (this.sessions.size > SESSION_CAP) {
      const oldest = this.sessions.values().next().value;
      if (!oldest) break;
      clearTimeout(oldest.expiryTimer);
      this.sessions.delete(oldest.qrcode);
    }
  }
}
