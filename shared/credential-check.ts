/**
 * "Does this token still work?": one getconfig call (§2) for the bot's owner,
 * the cheapest authenticated request that changes nothing on the server
 * (getupdates would move the message cursor). Both hosts offer such a test.
 */
import { ApiError, HttpError, SessionExpiredError } from './errors';
import { isAbortError, Transport, type TransportOptions } from './transport';
import type { GetConfigResponse } from './wire';

export interface CredentialCheckInput extends Omit<TransportOptions, 'token'> {
  token?: string;
  /** The WeChat user who logged the bot in; getconfig asks about a user. */
  ownerUserId?: string;
  botId?: string;
  signal?: AbortSignal;
}

export type CredentialCheckResult =
  | { ok: true; message: string }
  | { ok: false; reason: 'no-token' | 'session-expired' | 'rejected' | 'unreachable'; message: string };

export async function checkCredentials(input: CredentialCheckInput): Promise<CredentialCheckResult> {
  const token = input.token?.trim();
  if (!token) {
    return { ok: false, reason: 'no-token', message: 'not logged in yet: there is no bot token; log in with the QR code first' };
  }
  const transport = new Transport({ ...input, token });
  const userId = input.ownerUserId?.trim() || input.botId?.trim() || '';
  try {
    await transport.post<GetConfigResponse>('getConfig', { ilink_user_id: userId }, { signal: input.signal });
    return { ok: true, message: 'connected: the bot token works' };
  } catch (error) {
    if (isAbortError(error)) throw error;
    if (error instanceof SessionExpiredError) return { ok: false, reason: 'session-expired', message: error.message };
    if (error instanceof HttpError && error.kind === 'status' && (error.status === 401 || error.status === 403)) {
      return { ok: false, reason: 'rejected', message: error.message };
    }
    // A 200 with another ret/errcode is no pass: the token (or the server at this URL) is not a working bot.
    if (error instanceof ApiError) {
      return { ok: false, reason: 'rejected', message: `${error.message}: the server did not accept this bot token; log in again, or check the API base URL` };
    }
    const detail = transport.redact(error instanceof Error ? error.message : String(error));
    // Named, since the base URL is what a user typed and most often what is wrong.
    return { ok: false, reason: 'unreachable', message: `could not check the bot token at ${transport.baseUrl}: ${detail}` };
  }
}
