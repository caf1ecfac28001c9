/** Small helpers for the plain (unauthenticated) CDN requests of §7. */
import type { Dispatcher } from 'undici';

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
