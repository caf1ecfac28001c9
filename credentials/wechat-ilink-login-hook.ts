/**
 * The credential's preAuthentication hook: one step of the QR login per call.
 *
 * n8n calls it (inside an authenticated request) when the hidden, expirable
 * `loginToken` is empty, and stores every key it returns in the credential.
 * That is the only way a node can get a value into a credential, so the login
 * state lives here between runs of the "Log in (QR code)" operation: the
 * secret ticket in `loginTicket`, a token-free summary in `loginStatus`, and,
 * once confirmed, the token and account fields. The steps themselves are the
 * core's (shared/login-steps.ts).
 */
import { advanceLogin, parseLoginTicket, serializeLoginTicket, Transport, type LoginStepResult } from '../shared';
import { readCredentialFields } from './wechat-ilink-fields';

/**
 * Set only in the data the "Log in (QR code)" operation hands to its request
 * (never stored): the hook acts only then, so a connection test or an HTTP
 * Request node using this credential never starts a login by accident.
 */
export const LOGIN_STEP_FLAG = 'loginStep';
/** With LOGIN_STEP_FLAG: start a new login even though one is pending or a token exists. */
export const LOGIN_RESTART_FLAG = 'loginRestart';

/** What the node may read back after a step; never holds the token or the ticket. */
export interface LoginStatusSummary {
  state: LoginStepResult['state'];
  qrIndex?: number;
  qrChanged?: boolean;
  wrongCode?: boolean;
  error?: string;
  botId?: string;
  /** ms since the epoch */
  expiresAt?: number;
  updatedAt: number;
}

export function parseLoginStatus(value: unknown): LoginStatusSummary | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  try {
    const parsed = JSON.parse(value) as LoginStatusSummary;
    return parsed && typeof parsed.state === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Turns one step's result into the credential keys n8n will store. */
export function credentialDataForStep(result: LoginStepResult, loginBaseUrl: string, now = Date.now()): Record<string, string> {
  const summary: LoginStatusSummary = {
    state: result.state,
    qrIndex: result.ticket?.index,
    qrChanged: result.qrChanged,
    wrongCode: result.wrongCode,
    error: result.error,
    expiresAt: result.expiresAt,
    updatedAt: now,
  };
  if (result.state === 'confirmed' && result.credentials) {
    const { token, botId, baseUrl, userId } = result.credentials;
    return {
      loginToken: token,
      loginTicket: '',
      accountBaseUrl: baseUrl || loginBaseUrl,
      botId,
      ownerUserId: userId,
      // A used number must not be sent with the next login.
      verifyCode: '',
      loginStatus: JSON.stringify({ ...summary, botId }),
    };
  }
  return {
    loginToken: '',
    loginTicket: serializeLoginTicket(result.ticket),
    loginStatus: JSON.stringify(summary),
  };
}

export async function runLoginHook(credentials: Record<string, unknown>): Promise<Record<string, string>> {
  if (credentials[LOGIN_STEP_FLAG] !== true) return {};
  const fields = readCredentialFields(credentials);
  const restart = credentials[LOGIN_RESTART_FLAG] === true;
  // A token typed in by hand, or a token already there: nothing to do, and
  // returning no `loginToken` key tells n8n to store nothing.
  if (fields.botToken) return {};
  if (fields.loginToken && !restart) return {};

  // The QR endpoints live on the configured (login) host, without a token (§0, §3).
  const transport = new Transport({ baseUrl: fields.baseUrl, routeTag: fields.routeTag || undefined, botAgent: fields.botAgent || undefined });
  const result = await advanceLogin(transport, parseLoginTicket(fields.loginTicket), { verifyCode: fields.verifyCode, restart });
  return credentialDataForStep(result, transport.baseUrl);
}
