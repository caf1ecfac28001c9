/**
 * The WeChat iLink credential's stored fields, read into one typed shape.
 * Nodes and the credential's own login hook both read the credential; the
 * field names live here so that they cannot drift apart.
 */
import { checkCredentials, DEFAULT_API_BASE, type ClientOptions, type CredentialCheckResult } from '../shared';

export const CREDENTIAL_NAME = 'wechatIlinkApi';

export interface IlinkCredentialFields {
  /** The login host and the API base unless the login returned another one. */
  baseUrl: string;
  /** A token pasted by hand (for example from the terminal login); wins over the QR login's. */
  botToken: string;
  /** The token the QR login stored (hidden, expirable). */
  loginToken: string;
  /** The API base the QR login returned for this account (hidden). */
  accountBaseUrl: string;
  botId: string;
  ownerUserId: string;
  cdnBaseUrl: string;
  routeTag: string;
  botAgent: string;
  /** The number the phone shows during a login, when asked. */
  verifyCode: string;
  /** The pending login ticket as JSON (hidden, secret). */
  loginTicket: string;
}

function text(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value.trim() : '';
}

export function readCredentialFields(data: Record<string, unknown> | undefined): IlinkCredentialFields {
  const d = data ?? {};
  return {
    baseUrl: text(d.baseUrl) || DEFAULT_API_BASE,
    botToken: text(d.botToken),
    loginToken: text(d.loginToken),
    accountBaseUrl: text(d.accountBaseUrl),
    botId: text(d.botId),
    ownerUserId: text(d.ownerUserId),
    cdnBaseUrl: text(d.cdnBaseUrl),
    routeTag: text(d.routeTag),
    botAgent: text(d.botAgent),
    verifyCode: text(d.verifyCode),
    loginTicket: typeof d.loginTicket === 'string' ? d.loginTicket : '',
  };
}

/** The token in use: one typed in by hand wins, else the QR login's. */
export function effectiveToken(fields: IlinkCredentialFields): string {
  return fields.botToken || fields.loginToken;
}

/** Where the bot's API calls go: the account's base from the login, else the configured base. */
export function apiBaseUrl(fields: IlinkCredentialFields): string {
  return (fields.botToken ? '' : fields.accountBaseUrl) || fields.baseUrl;
}

/** Options for the core client (state and logger are the caller's). */
export function clientOptionsFrom(fields: IlinkCredentialFields): ClientOptions {
  return {
    token: effectiveToken(fields),
    baseUrl: apiBaseUrl(fields),
    botId: fields.botId || undefined,
    ownerUserId: fields.ownerUserId || undefined,
    cdnBaseUrl: fields.cdnBaseUrl || undefined,
    routeTag: fields.routeTag || undefined,
    botAgent: fields.botAgent || undefined,
  };
}

/** The core's "does this token still work?" check (a getconfig, §2) for this credential. */
export function checkCredentialFields(fields: IlinkCredentialFields): Promise<CredentialCheckResult> {
  return checkCredentials(clientOptionsFrom(fields));
}
