/**
 * Keeps QR logins that an editor drives over several HTTP calls (Node-RED's
 * config dialog, and any host with a "Log in" button): one login per key
 * (for example a config node's id), a status snapshot that a browser may poll
 * (it never holds the token), and the credentials handed to a callback only.
 *
 * Why here and not in a host: the login lives longer than one request, must
 * survive the dialog being closed and reopened, and must not leak the token to
 * whoever asks for the status; both hosts need exactly that.
 */
import { LoginError } from './errors';
import { LoginSession, type LoginCredentials, type LoginOptions } from './login';

/** How long one login may take, and how long its final snapshot stays readable. */
export const LOGIN_TRACKER_TTL_MS = 5 * 60 * 1000;

export type TrackedLoginState =
  /** Fetching the first QR code. */
  | 'starting'
  /** QR code shown, waiting for a scan. */
  | 'waiting'
  /** Scanned; waiting for the user to confirm on the phone. */
  | 'scanned'
  /** The server wants the number shown on the phone (submit it with verify()). */
  | 'verify-code'
  /** Done: credentials were handed to the callback. */
  | 'confirmed'
  /** The bot is already bound to a token we hold: nothing changed. */
  | 'already-bound'
  | 'failed'
  | 'cancelled';

/** What a status request may see. Never contains the token. */
export interface LoginSnapshot {
  state: TrackedLoginState;
  /** The QR code as a data: URL (while one is shown). */
  qrDataUrl?: string;
  /** The content of the QR code (a URL the WeChat app opens). */
  qrContent?: string;
  /** 1 for the first code, 2 and 3 after refreshes. */
  qrIndex?: number;
  /** The last verification number was wrong. */
  wrongCode?: boolean;
  /** Why the login failed, in words the user can act on. */
  error?: string;
  /** Filled in once confirmed. */
  botId?: string;
  ownerUserId?: string;
  baseUrl?: string;
  startedAt: number;
  /** After this instant the login (or its result) is forgotten. */
  expiresAt: number;
}

export type LoginStarter = (options: LoginOptions) => Promise<LoginSession>;

export interface LoginTrackerOptions {
  ttlMs?: number;
  /** How to start a session (tests may replace it). Default LoginSession.start. */
  startSession?: LoginStarter;
  now?: () => number;
}

export type StartLoginOptions = Pick<LoginOptions, 'baseUrl' | 'localTokens' | 'routeTag' | 'botAgent' | 'dispatcher' | 'logger'>;

/** Receives the credentials; may be async. A throw turns the login into 'failed'. */
export type OnLoginConfirmed = (credentials: LoginCredentials) => void | Promise<void>;

interface Entry {
  snapshot: LoginSnapshot;
  session?: LoginSession;
  abort: AbortController;
  expiry?: NodeJS.Timeout;
  /** Settles once the first QR code is there (or the start failed). */
  ready?: Promise<LoginSnapshot>;
}

const PENDING: ReadonlySet<TrackedLoginState> = new Set(['starting', 'waiting', 'scanned', 'verify-code']);

export function isPendingLogin(snapshot: LoginSnapshot | undefined): boolean {
  return snapshot !== undefined && PENDING.has(snapshot.state);
}

export class LoginTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly startSession: LoginStarter;
  private readonly now: () => number;

  constructor(options: LoginTrackerOptions = {}) {
    this.ttlMs = options.ttlMs ?? LOGIN_TRACKER_TTL_MS;
    this.startSession = options.startSession ?? ((opts) => LoginSession.start(opts));
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts a login for `key`, or returns the one already pending for it (so a
   * second click or a second browser tab shows the same QR code). Resolves
   * once the first QR code is there (or the start failed).
   */
  start(key: string, options: StartLoginOptions, onConfirmed: OnLoginConfirmed): Promise<LoginSnapshot> {
    const existing = this.entries.get(key);
    if (existing?.ready && isPendingLogin(existing.snapshot)) return existing.ready;
    if (existing) this.drop(key, existing);

    const startedAt = this.now();
    const entry: Entry = {
      snapshot: { state: 'starting', startedAt, expiresAt: startedAt + this.ttlMs },
      abort: new AbortController(),
    };
    this.entries.set(key, entry);
    this.schedule(key, entry, this.ttlMs);
    entry.ready = this.begin(entry, options, onConfirmed);
    return entry.ready;
  }

  private async begin(entry: Entry, options: StartLoginOptions, onConfirmed: OnLoginConfirmed): Promise<LoginSnapshot> {
    const { signal } = entry.abort;
    let session: LoginSession;
    try {
      session = await this.startSession({ ...options, signal, deadlineMs: this.ttlMs });
    } catch (error) {
      this.finish(entry, signal.aborted ? { state: 'cancelled' } : { state: 'failed', error: messageOf(error) });
      return this.copy(entry.snapshot);
    }
    entry.session = session;
    if (signal.aborted) {
      session.cancel();
      return this.copy(entry.snapshot);
    }
    this.watch(entry, session, onConfirmed);
    await this.showQr(entry, session);
    return this.copy(entry.snapshot);
  }

  /** The current snapshot, or undefined when no login is known for the key. */
  status(key: string): LoginSnapshot | undefined {
    const entry = this.entries.get(key);
    return entry ? this.copy(entry.snapshot) : undefined;
  }

  /** Hands over the number the phone shows. */
  verify(key: string, code: string): LoginSnapshot | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const digits = String(code ?? '').trim();
    if (entry.session && isPendingLogin(entry.snapshot) && digits) {
      entry.session.submitVerifyCode(digits);
      if (entry.snapshot.state === 'verify-code') entry.snapshot = { ...entry.snapshot, state: 'scanned', wrongCode: false };
    }
    return this.copy(entry.snapshot);
  }

  /** Stops a pending login (the dialog was cancelled) and forgets it. */
  cancel(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry);
  }

  /** Stops every login (host shutdown). */
  cancelAll(): void {
    for (const [key, entry] of [...this.entries]) this.drop(key, entry);
  }

  private async showQr(entry: Entry, session: LoginSession): Promise<void> {
    const qr = session.qr;
    let qrDataUrl: string | undefined;
    try {
      qrDataUrl = await session.qrDataUrl();
    } catch {
      qrDataUrl = undefined; // the content is still there for a host that draws it itself
    }
    // A refresh may have happened meanwhile; only the newest code counts.
    if (session.qr !== qr || !isPendingLogin(entry.snapshot)) return;
    entry.snapshot = { ...entry.snapshot, state: 'waiting', qrDataUrl, qrContent: qr.content, qrIndex: qr.index, wrongCode: false };
  }

  private watch(entry: Entry, session: LoginSession, onConfirmed: OnLoginConfirmed): void {
    const update = (patch: Partial<LoginSnapshot>) => {
      if (isPendingLogin(entry.snapshot)) entry.snapshot = { ...entry.snapshot, ...patch };
    };
    session.on('scanned', () => update({ state: 'scanned', wrongCode: false }));
    session.on('verify-code', ({ wrong }) => update({ state: 'verify-code', wrongCode: wrong }));
    session.on('refreshed', () => {
      update({ state: 'waiting', qrDataUrl: undefined });
      void this.showQr(entry, session);
    });

    session.wait().then(
      async (result) => {
        if (result.kind === 'already-bound') {
          this.finish(entry, { state: 'already-bound' });
          return;
        }
        try {
          await onConfirmed({ token: result.token, botId: result.botId, baseUrl: result.baseUrl, userId: result.userId });
        } catch (error) {
          this.finish(entry, { state: 'failed', error: `logged in, but the credentials could not be stored: ${messageOf(error)}` });
          return;
        }
        this.finish(entry, { state: 'confirmed', botId: result.botId, ownerUserId: result.userId, baseUrl: result.baseUrl });
      },
      (error: unknown) => {
        const cancelled = error instanceof LoginError && error.kind === 'aborted';
        this.finish(entry, { state: cancelled ? 'cancelled' : 'failed', error: cancelled ? undefined : messageOf(error) });
      },
    );
  }

  /** Records the outcome; the QR code is no longer useful and is dropped. */
  private finish(entry: Entry, patch: Partial<LoginSnapshot>): void {
    if (!isPendingLogin(entry.snapshot)) return;
    const expiresAt = this.now() + this.ttlMs;
    entry.snapshot = { ...entry.snapshot, ...patch, qrDataUrl: undefined, qrContent: undefined, expiresAt };
    const key = [...this.entries].find(([, e]) => e === entry)?.[0];
    if (key !== undefined) this.schedule(key, entry, this.ttlMs);
  }

  /**
   * A pending login ends when its time is up; a finished one is remembered for
   * another ttl so the dialog can still read the outcome, then forgotten.
   */
  private schedule(key: string, entry: Entry, delayMs: number): void {
    if (entry.expiry) clearTimeout(entry.expiry);
    entry.expiry = setTimeout(() => {
      if (isPendingLogin(entry.snapshot)) {
        this.finish(entry, { state: 'failed', error: new LoginError('timeout').message });
        entry.abort.abort();
        entry.session?.cancel();
        return;
      }
      if (this.entries.get(key) === entry) this.entries.delete(key);
    }, delayMs);
    entry.expiry.unref?.();
  }

  private drop(key: string, entry: Entry): void {
    // Forget first, so finish() schedules nothing for a dropped login.
    if (this.entries.get(key) === entry) this.entries.delete(key);
    if (entry.expiry) clearTimeout(entry.expiry);
    this.finish(entry, { state: 'cancelled' });
    entry.abort.abort();
    entry.session?.cancel();
  }

  private copy(snapshot: LoginSnapshot): LoginSnapshot {
    const out: LoginSnapshot = { ...snapshot };
    for (const key of Object.keys(out) as Array<keyof LoginSnapshot>) if (out[key] === undefined) delete out[key];
    return out;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
