/** Small helpers for the plain (unauthenticated) CDN requests of §7. */
import type { Dispatcher } from 'undici';
import { DEFAULT_CDN_BASE } from '../wire';
import { MediaError } from './errors';

export interface MediaContext {
  /** CDN base, e.g. https://novac2c.cdn.weixin.qq.com/c2c (DEFAULT_CDN_BASE). */
  cdnBaseUrl: string;
  /** Size cap in bytes; default 100 MiB (§7). */
  maxBytes?: number;
  /** undici dispatcher (proxy, custom pool). */
  dispatcher?: Dispatcher;
  /**
   * A download fails when the CDN sends nothing (no headers, no body bytes)
   * for this long; default DOWNLOAD_IDLE_TIMEOUT_MS. There is no limit on the
   * whole transfer (§7: no client timeout), only on a stall.
   */
  idleTimeoutMs?: number;
}

/**
 * 60 s. undici's own default (300 s) would let one stalled download hold up a
 * receiver that downloads media before handing a message on.
 */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 60_000;

/** `{cdn}/<path>` without a double slash; the base may carry a path such as /c2c. */
export function cdnUrl(cdnBaseUrl: string, path: string, query: Record<string, string>): string {
  const base = cdnBaseUrl.trim().replace(/\/+$/, '');
  const search = Object.entries(query)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&');
  return `${base}/${path}?${search}`;
}

/** https://novac2c.cdn.weixin.qq.com: the official CDN (DEFAULT_CDN_BASE, sheet §0). */
const OFFICIAL_CDN_ORIGIN = new URL(DEFAULT_CDN_BASE).origin;

/**
 * A message's `full_url`, checked before anything fetches it (§7 Download uses
 * it as given). The message may not come from the server: a flow can hand the
 * download any item (an n8n webhook's body, any Node-RED msg), and fetching
 * whatever URL it names would let its author make the host GET internal
 * services or cloud metadata and read the answer. So a full_url must be http(s),
 * carry no user name, and have the origin (scheme, host, port, as new URL()
 * normalizes them; never a string prefix) of the configured CDN base or of the
 * official CDN. The official one stays allowed when another base is configured
 * because the server, not the client, writes full_url; the protocol sheet names
 * no other CDN host (§0, §7, §10), so the list ends there.
 * Returns the URL as parsed, so what was checked is what is fetched.
 */
export function checkedFullUrl(fullUrl: string, cdnBaseUrl: string): string {
  const allowed = allowedDownloadOrigins(cdnBaseUrl);
  const url = parseUrl(fullUrl);
  const problem = !url
    ? 'it is not a URL'
    : !isHttp(url)
      ? `it is a ${url.protocol} URL`
      : !allowed.includes(url.origin)
        ? `it points to ${url.origin}`
        : url.username || url.password
          ? 'it carries a user name'
          : undefined;
  if (url && !problem) return url.href;
  throw new MediaError(
    'not_on_cdn',
    `the download URL (full_url) is not on the CDN: ${problem}, and media is only downloaded from ${allowed.join(' or ')}; ` +
      'pass the message on unchanged from the WeChat trigger or ilink-in node, or, if your iLink server really uses another CDN host, ' +
      'set it as the CDN base URL in the credential or config node',
  );
}

function allowedDownloadOrigins(cdnBaseUrl: string): string[] {
  const base = parseUrl(cdnBaseUrl.trim());
  const configured = base && isHttp(base) ? base.origin : undefined;
  return configured && configured !== OFFICIAL_CDN_ORIGIN ? [configured, OFFICIAL_CDN_ORIGIN] : [OFFICIAL_CDN_ORIGIN];
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function isHttp(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed ? trimmed : undefined;
}

/** Reads at most `limit` characters of an error body and discards the rest. */
export async function readSnippet(body: Dispatcher.ResponseData['body'], limit = 300): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      if (text.length < limit) text += (chunk as Buffer).toString('utf8');
    }
  } catch {
    // The snippet is only decoration for an error message.
  }
  return text.slice(0, limit).trim();
}
