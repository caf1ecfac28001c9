/**
 * QR login (§3) one step at a time, for hosts that cannot keep a login running
 * between calls: n8n's credential hook runs for a few seconds per call and can
 * only remember what it writes back into the credential.
 *
 * `LoginTicket` is that memory (plain JSON, small). `planLoginStep` and
 * `applyQrAnswer` are pure: they decide what to ask the server and what an
 * answer means. `advanceLogin` performs one step against the server with them.
 * The ticket holds the polling handle, which could collect the token once the
 * user confirms: hosts must store it as a secret.
 */
import { LoginError } from './errors';
import { credentialsFromConfirmed, fetchQrCode, LOGIN_DEADLINE_MS, MAX_QR_CODES, pollQrStatus, redirectBase, type LoginCredentials } from './login';
import type { Transport } from './transport';
import type { GetQrcodeStatusResponse } from './wire';

/** Default length of one status long poll inside a step (the official poll is 35 s; a host call must stay short). */
export const LOGIN_STEP_POLL_MS = 10_000;

export type LoginTicketStatus = 'waiting' | 'scanned' | 'verify-code';

/** What a pending login remembers between steps. */
export interface LoginTicket {
  v: 1;
  /** Polling handle (secret until the login ends). */
  qrcode: string;
  /** The content to draw as a QR code (a URL the WeChat app opens). */
  content: string;
  /** 1 for the first code, 2 and 3 after refreshes (§3: at most 3). */
  index: number;
  /** Where to poll; set after scaned_but_redirect (§3). */
  pollBaseUrl?: string;
  /** When the login began (ms since the epoch); the deadline counts from here. */
  startedAt: number;
  status: LoginTicketStatus;
  /** The verification number last sent; kept to tell a wrong number from a new one. */
  sentCode?: string;
  /** The number in sentCode was refused. */
  wrongCode?: boolean;
}

export type LoginStepState =
  /** A QR code is shown and nobody scanned it yet. `qrChanged` says whether it is a new one. */
  | 'waiting'
  /** Scanned; the user must confirm on the phone. */
  | 'scanned'
  /** The phone shows a number that must be entered (wrongCode: the last one was wrong). */
  | 'verify-code'
  /** Logged in: `credentials` holds the token. */
  | 'confirmed'
  /** The login ended without a token; `error` says why and what to do. */
  | 'failed';

export interface LoginStepResult {
  state: LoginStepState;
  /** The ticket to store for the next step; undefined once the login ended. */
  ticket?: LoginTicket;
  /** True when this step fetched a QR code (first or refresh): show it. */
  qrChanged: boolean;
  credentials?: LoginCredentials;
  error?: string;
  wrongCode?: boolean;
  /** When the whole login gives up (ms since the epoch). */
  expiresAt?: number;
}

export interface LoginStepOptions {
  /** The number the phone shows, when the server asked for one. */
  verifyCode?: string;
  /** Forget any pending login and start with a new QR code. */
  restart?: boolean;
  /** Length of the status long poll in this step. */
  pollTimeoutMs?: number;
  deadlineMs?: number;
  maxQrCodes?: number;
  now?: () => number;
  signal?: AbortSignal;
}

export type LoginAction =
  | { kind: 'fetch-qr'; index: number; startedAt: number }
  | { kind: 'poll'; baseUrl?: string; verifyCode?: string }
  /** Nothing to ask the server: report the ticket as it is (a number already refused was given again). */
  | { kind: 'report'; result: LoginStepResult };

/** Reads a stored ticket; anything malformed counts as no ticket (a new login starts). */
export function parseLoginTicket(text: unknown): LoginTicket | undefined {
  if (typeof text !== 'string' || !text.trim()) return undefined;
  let raw: Partial<LoginTicket>;
  try {
    raw = JSON.parse(text) as Partial<LoginTicket>;
  } catch {
    return undefined;
  }
  if (!raw || raw.v !== 1 || typeof raw.qrcode !== 'string' || !raw.qrcode || typeof raw.content !== 'string') return undefined;
  if (typeof raw.index !== 'number' || typeof raw.startedAt !== 'number') return undefined;
  const status: LoginTicketStatus = raw.status === 'scanned' || raw.status === 'verify-code' ? raw.status : 'waiting';
  return {
    v: 1,
    qrcode: raw.qrcode,
    content: raw.content,
    index: raw.index,
    startedAt: raw.startedAt,
    status,
    ...(typeof raw.pollBaseUrl === 'string' && raw.pollBaseUrl ? { pollBaseUrl: raw.pollBaseUrl } : {}),
    ...(typeof raw.sentCode === 'string' && raw.sentCode ? { sentCode: raw.sentCode } : {}),
    ...(raw.wrongCode === true ? { wrongCode: true } : {}),
  };
}

export function serializeLoginTicket(ticket: LoginTicket | undefined): string {
  return ticket ? JSON.stringify(ticket) : '';
}

function digitsOf(code: string | undefined): string | undefined {
  const digits = String(code ?? '').trim();
  return digits || undefined;
}

/** Decides what one step does, given what is stored. Pure. */
export function planLoginStep(ticket: LoginTicket | undefined, options: Pick<LoginStepOptions, 'verifyCode' | 'restart' | 'deadlineMs'> & { now: number }): LoginAction {
  const deadlineMs = options.deadlineMs ?? LOGIN_DEADLINE_MS;
  if (!ticket || options.restart) return { kind: 'fetch-qr', index: 1, startedAt: options.now };
  if (options.now - ticket.startedAt >= deadlineMs) {
    // The old login is over (timeout): a new one starts at once rather than failing, so one run is enough.
    return { kind: 'fetch-qr', index: 1, startedAt: options.now };
  }
  const code = digitsOf(options.verifyCode);
  if (ticket.status === 'verify-code') {
    if (!code || (ticket.wrongCode && code === ticket.sentCode)) {
      // No number yet, or the same refused one: asking the server again would only count as another wrong try.
      return { kind: 'report', result: { state: 'verify-code', ticket, qrChanged: false, wrongCode: ticket.wrongCode === true, expiresAt: ticket.startedAt + deadlineMs } };
    }
    return { kind: 'poll', baseUrl: ticket.pollBaseUrl, verifyCode: code };
  }
  // §3: once sent, the number goes with every poll until `scaned` (sentCode is cleared then).
  return { kind: 'poll', baseUrl: ticket.pollBaseUrl, verifyCode: ticket.sentCode };
}

/**
 * What a status answer means for the ticket. Pure. `needsNewQr` asks the
 * caller to fetch the next QR code (expired, or too many wrong numbers).
 */
export function applyQrAnswer(
  ticket: LoginTicket,
  answer: GetQrcodeStatusResponse,
  context: { sentCode?: string; fallbackBaseUrl: string; maxQrCodes?: number; deadlineMs?: number },
): LoginStepResult & { needsNewQr?: boolean } {
  const expiresAt = ticket.startedAt + (context.deadlineMs ?? LOGIN_DEADLINE_MS);
  const maxQrCodes = context.maxQrCodes ?? MAX_QR_CODES;
  const keep = (next: LoginTicket, state: LoginStepState, extra: Partial<LoginStepResult> = {}): LoginStepResult => ({
    state,
    ticket: next,
    qrChanged: false,
    expiresAt,
    ...extra,
  });
  switch (answer.status) {
    case 'confirmed':
      try {
        return { state: 'confirmed', qrChanged: false, credentials: credentialsFromConfirmed(answer, context.fallbackBaseUrl) };
      } catch (error) {
        return { state: 'failed', qrChanged: false, error: (error as Error).message };
      }
    case 'binded_redirect':
      // We never send stored tokens from a step-wise login, so this means the server knows this client already.
      return {
        state: 'failed',
        qrChanged: false,
        error: 'this WeChat bot is already bound to a token this client holds (binded_redirect); keep using the token you have, or unbind the bot on the phone and log in again',
      };
    case 'scaned': {
      // A pending number was accepted: stop sending it (§3).
      const { sentCode: _sent, wrongCode: _wrong, ...rest } = ticket;
      return keep({ ...rest, status: 'scanned' }, 'scanned');
    }
    case 'scaned_but_redirect': {
      const pollBaseUrl = answer.redirect_host ? redirectBase(ticket.pollBaseUrl ?? context.fallbackBaseUrl, answer.redirect_host) : ticket.pollBaseUrl;
      return keep({ ...ticket, status: 'scanned', ...(pollBaseUrl ? { pollBaseUrl } : {}) }, 'scanned');
    }
    case 'need_verifycode': {
      // Asked again while a number was pending: that number was wrong (§3).
      const wrong = context.sentCode !== undefined;
      const next: LoginTicket = { ...ticket, status: 'verify-code', wrongCode: wrong };
      if (context.sentCode !== undefined) next.sentCode = context.sentCode;
      else delete next.sentCode;
      return keep(next, 'verify-code', { wrongCode: wrong });
    }
    case 'expired':
    case 'verify_code_blocked':
      if (ticket.index >= maxQrCodes) {
        return { state: 'failed', qrChanged: false, error: new LoginError(answer.status === 'expired' ? 'qr_expired' : 'verify_code_blocked').message };
      }
      return { ...keep(ticket, ticket.status === 'waiting' ? 'waiting' : 'scanned'), needsNewQr: true };
    default: {
      // wait, or a status we do not know: nothing changes, but a number sent along stays pending.
      const next = context.sentCode !== undefined ? { ...ticket, sentCode: context.sentCode } : ticket;
      return keep(next, ticket.status === 'verify-code' ? 'scanned' : ticket.status, {});
    }
  }
}

async function newTicket(transport: Transport, index: number, startedAt: number, signal?: AbortSignal): Promise<LoginTicket> {
  // QR codes always come from the fixed host (§0), never from a redirect host.
  const qr = await fetchQrCode(transport, [], signal);
  return { v: 1, qrcode: qr.qrcode, content: qr.content, index, startedAt, status: 'waiting' };
}

/**
 * One step of the login: fetch a QR code, or one short status poll (following
 * redirects, sending the verification number, refreshing an expired code).
 * `transport` points at the login host (the API base URL) and carries no token.
 */
export async function advanceLogin(transport: Transport, ticket: LoginTicket | undefined, options: LoginStepOptions = {}): Promise<LoginStepResult> {
  const now = options.now ?? Date.now;
  const deadlineMs = options.deadlineMs ?? LOGIN_DEADLINE_MS;
  const action = planLoginStep(ticket, { verifyCode: options.verifyCode, restart: options.restart, deadlineMs, now: now() });
  switch (action.kind) {
    case 'report':
      return action.result;
    case 'fetch-qr': {
      const fresh = await newTicket(transport, action.index, action.startedAt, options.signal);
      return { state: 'waiting', ticket: fresh, qrChanged: true, expiresAt: fresh.startedAt + deadlineMs };
    }
    case 'poll': {
      const current = ticket as LoginTicket;
      const remaining = current.startedAt + deadlineMs - now();
      const answer = await pollQrStatus(transport, current.qrcode, {
        baseUrl: action.baseUrl,
        verifyCode: action.verifyCode,
        signal: options.signal,
        timeoutMs: Math.max(1_000, Math.min(options.pollTimeoutMs ?? LOGIN_STEP_POLL_MS, remaining)),
      });
      const result = applyQrAnswer(current, answer, {
        sentCode: action.verifyCode,
        fallbackBaseUrl: transport.baseUrl,
        maxQrCodes: options.maxQrCodes,
        deadlineMs,
      });
      if (!result.needsNewQr) return result;
      const fresh = await newTicket(transport, current.index + 1, current.startedAt, options.signal);
      return { state: 'waiting', ticket: fresh, qrChanged: true, expiresAt: result.expiresAt };
    }
  }
}
