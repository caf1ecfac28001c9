/**
 * Request rules, one small function each. A rule returns undefined when the
 * request passes, or the refusal a real server would plausibly give.
 * Header rules follow §1; body rules follow §2 and §6.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isPlainObject } from './http-util';

export interface Refusal {
  status: number;
  body: Record<string, unknown>;
}

/** HTTP 200 {ret:-2}: the shape seen for bad parameters (§2 error model). */
export function badParam(errmsg: string): Refusal {
  return { status: 200, body: { ret: -2, errmsg } };
}

/**
 * Reply window closed or budget spent (§10): `{"ret":-2}` with no errmsg,
 * unless options.replyWindowErrmsg gives one (the real server sometimes says
 * "prepare failed").
 */
export function sendRefused(errmsg: string | null): Refusal {
  return { status: 200, body: errmsg ? { ret: -2, errmsg } : { ret: -2 } };
}

/** Rate limiting (§10, #142, #270): this exact body, no errcode. */
export const RATE_LIMITED: Refusal = { status: 200, body: { ret: -2, errmsg: 'rate limited' } };

/** Unknown, replaced or expired token: errcode -14 and no ret (§2 field notes). */
export const SESSION_TIMEOUT: Refusal = { status: 200, body: { errcode: -14, errmsg: 'session timeout' } };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

// ---- Header rules (§1) ----

export function requireJsonContentType(headers: IncomingHttpHeaders): Refusal | undefined {
  const type = header(headers, 'content-type')?.split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return undefined;
  return { status: 415, body: { ret: -1, errmsg: 'Content-Type must be application/json' } };
}

/** `AuthorizationType: ilink_bot_token` goes on every POST, even without a token. */
export function requireAuthorizationType(headers: IncomingHttpHeaders): Refusal | undefined {
  if (header(headers, 'authorizationtype') === 'ilink_bot_token') return undefined;
  return { status: 401, body: { ret: -1, errmsg: 'missing or wrong AuthorizationType header (expected ilink_bot_token)' } };
}

/** The trimmed token from `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/.exec(header(headers, 'authorization') ?? '');
  return match?.[1];
}

export function requireBearer(headers: IncomingHttpHeaders): Refusal | undefined {
  if (bearerToken(headers)) return undefined;
  return { status: 401, body: { ret: -1, errmsg: 'missing Authorization: Bearer <bot_token>' } };
}

/** iLink-App-Id may be empty (2.4.1–2.4.2 sent ""), but must be there; ClientVersion is a decimal number. */
export function requireAppHeaders(headers: IncomingHttpHeaders): Refusal | undefined {
  if (header(headers, 'ilink-app-id') === undefined) return headerRefusal('missing iLink-App-Id header');
  const version = header(headers, 'ilink-app-clientversion');
  if (version === undefined) return headerRefusal('missing iLink-App-ClientVersion header');
  if (!/^\d+$/.test(version) || Number(version) > 0xffffff) return headerRefusal('iLink-App-ClientVersion must be a decimal number');
  return undefined;
}

/** X-WECHAT-UIN = padded base64 of the decimal text of a uint32. */
export function requireWechatUin(headers: IncomingHttpHeaders): Refusal | undefined {
  const value = header(headers, 'x-wechat-uin');
  if (value === undefined || value === '') return headerRefusal('missing X-WECHAT-UIN header');
  if (!isValidWechatUin(value)) return headerRefusal('X-WECHAT-UIN must be base64 of a decimal uint32');
  return undefined;
}

export function isValidWechatUin(value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  const decoded = Buffer.from(value, 'base64');
  if (decoded.toString('base64') !== value) return false;
  const text = decoded.toString('latin1');
  if (!/^(0|[1-9]\d{0,9})$/.test(text)) return false;
  return Number(text) <= 0xffffffff;
}

/** get_qrcode_status is a bare GET: only the iLink-App-* headers and SKRouteTag (§1). */
export function refuseGetWithPostHeaders(headers: IncomingHttpHeaders): Refusal | undefined {
  for (const name of ['content-type', 'authorizationtype', 'authorization', 'x-wechat-uin']) {
    if (header(headers, name) !== undefined) return headerRefusal(`GET get_qrcode_status must not carry ${name}`);
  }
  return undefined;
}

function headerRefusal(errmsg: string): Refusal {
  return { status: 400, body: { ret: -1, errmsg } };
}

// ---- Body rules ----

export type Body = Record<string, unknown>;

/** base_info on every POST except get_bot_qrcode (§1). */
export function requireBaseInfo(body: Body): Refusal | undefined {
  if (!isPlainObject(body.base_info)) return badParam('missing base_info');
  for (const key of ['channel_version', 'bot_agent']) {
    const value = body.base_info[key];
    if (value !== undefined && typeof value !== 'string') return badParam(`base_info.${key} must be a string`);
  }
  return undefined;
}

export function requireString(body: Body, key: string, options: { nonEmpty?: boolean; label?: string } = {}): Refusal | undefined {
  const value = body[key];
  const label = options.label ?? key;
  if (typeof value !== 'string') return badParam(`${label} must be a string`);
  if (options.nonEmpty && value === '') return badParam(`${label} must not be empty`);
  return undefined;
}

export function requireNumber(body: Body, key: string, options: { integer?: boolean; min?: number; max?: number; label?: string } = {}): Refusal | undefined {
  const value = body[key];
  const label = options.label ?? key;
  if (typeof value !== 'number' || !Number.isFinite(value)) return badParam(`${label} must be a number`);
  if (options.integer && !Number.isInteger(value)) return badParam(`${label} must be an integer`);
  if (options.min !== undefined && value < options.min) return badParam(`${label} must be at least ${options.min}`);
  if (options.max !== undefined && value > options.max) return badParam(`${label} must be at most ${options.max}`);
  return undefined;
}

export function requireHex32(body: Body, key: string): Refusal | undefined {
  const value = body[key];
  if (typeof value !== 'string' || !/^[0-9a-f]{32}$/.test(value)) return badParam(`${key} must be 32 lowercase hex characters`);
  return undefined;
}

/** Runs rules in order and returns the first refusal. */
export function firstRefusal(...rules: Array<() => Refusal | undefined>): Refusal | undefined {
  for (const rule of rules) {
    const refusal = rule();
    if (refusal) return refusal;
  }
  return undefined;
}
