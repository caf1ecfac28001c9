/**
 * Errors from the media pipeline (§7): encryption, the CDN, size caps.
 * Every message says what happened and what to do about it.
 */
import { ILinkError } from '../errors';

export type MediaErrorKind =
  /** The file is over the size cap (100 MiB by default, §7). */
  | 'too_large'
  /** Decryption produced invalid PKCS#7 padding: wrong key or damaged data. */
  | 'bad_padding'
  /** An aes_key / aeskey value that is neither 16 raw bytes nor 32 hex characters. */
  | 'bad_key'
  /** The CDN answered with an unexpected HTTP status (retried on upload, §7 step 6). */
  | 'cdn_status'
  /** The CDN answered 200 without the x-encrypted-param header (§7 step 6). */
  | 'cdn_missing_param'
  /** The CDN refused the upload with a 4xx (never retried, §7 step 6). */
  | 'cdn_rejected'
  /** The connection to the CDN failed or the transfer was cut short. */
  | 'cdn_network'
  /** The item has no downloadable media reference or key, or no upload URL was given. */
  | 'no_media'
  /** The item's download URL (full_url) is not on the CDN: refused without a request (http.ts checkedFullUrl). */
  | 'not_on_cdn'
  /** The file being uploaded got shorter between the hash pass and the upload (never retried). */
  | 'source_changed';

export class MediaError extends ILinkError {
  readonly kind: MediaErrorKind;
  /** HTTP status, when the CDN sent one. */
  readonly status?: number;
  /** Upload attempts made before giving up. */
  readonly attempts?: number;

  constructor(kind: MediaErrorKind, message: string, options: { status?: number; attempts?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    this.attempts = options.attempts;
  }
}

/** 100 MiB: the official inbound cap, which we also apply to uploads (§7 size cap). */
export const DEFAULT_MEDIA_MAX_BYTES = 100 * 1024 * 1024;

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB (${n} bytes)`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB (${n} bytes)`;
  return `${n} bytes`;
}

export function tooLargeError(what: string, size: number | undefined, maxBytes: number): MediaError {
  const sizeText = size === undefined ? 'more than the limit' : formatBytes(size);
  return new MediaError(
    'too_large',
    `${what} is too large: ${sizeText}, the limit is ${formatBytes(maxBytes)}; use a smaller file (compress or split it)`,
  );
}
