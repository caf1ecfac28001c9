/**
 * Outbound media: the official upload pipeline of §7 steps 1–7, with the
 * fixes from §8 rows 20–27 (hex aeskey, random filekey, no thumbnails, POST
 * with exactly-200 + x-encrypted-param, 3 attempts, download param from the
 * response header, base64-of-hex aes_key, encrypt_type 1).
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { ValidationError } from '../errors';
import type { CdnMedia } from '../model';
import { abortError, type Transport } from '../transport';
import { UploadMediaType, type GetUploadUrlRequest, type GetUploadUrlResponse } from '../wire';
import { paddedSize } from './crypto';
import { DEFAULT_MEDIA_MAX_BYTES, MediaError } from './errors';
import { cdnUrl, headerValue, readSnippet, type MediaContext } from './http';
import { encodeOutboundAesKey, generateAesKey } from './keys';
import { mediaTypeForFile, type OutboundMediaType } from './mime';
import { prepareSource, type UploadSource } from './source';

/** §7 step 6: at most 3 attempts in all, no delay between them. */
export const MAX_UPLOAD_ATTEMPTS = 3;

export interface UploadContext extends MediaContext {
  /** Authenticated iLink transport, for getuploadurl. */
  transport: Transport;
}

export interface UploadOptions {
  /** Name used for the media type guess and the file item's file_name. */
  fileName: string;
  toUserId: string;
  /** Override the guess from the file name (1 image, 2 video, 3 file). VOICE (4) is never sent (§7 step 3). */
  mediaType?: OutboundMediaType;
  signal?: AbortSignal;
}

export interface UploadedMedia {
  /** The download reference to put in the outbound item (§7 step 7). */
  media: CdnMedia;
  mediaType: OutboundMediaType;
  fileName: string;
  plainSize: number;
  /** Padded size: what mid_size / video_size carry (§7 step 8). */
  cipherSize: number;
  /** Lowercase hex MD5 of the plaintext. */
  md5: string;
  aesKeyHex: string;
  filekey: string;
}

/**
 * Encrypts and uploads one file. Throws MediaError (too_large before anything
 * is sent; cdn_rejected on a 4xx; cdn_status / cdn_missing_param / cdn_network
 * after 3 attempts), ValidationError, or the transport's errors from getuploadurl.
 */
export async function uploadMedia(ctx: UploadContext, source: UploadSource, options: UploadOptions): Promise<UploadedMedia> {
  if (!options.toUserId?.trim()) throw new ValidationError('uploadMedia needs toUserId (the recipient)');
  checkFileName(options.fileName);
  const maxBytes = ctx.maxBytes ?? DEFAULT_MEDIA_MAX_BYTES;
  const mediaType = checkMediaType(options.mediaType) ?? mediaTypeForFile(options.fileName);
  const { signal } = options;

  const prepared = await prepareSource(source, maxBytes, signal);
  try {
    if (prepared.plainSize === 0) throw new ValidationError(`${options.fileName} is empty (0 bytes): there is nothing to send; check the file or the binary property`);
    const key = generateAesKey();
    const filekey = randomBytes(16).toString('hex');
    const cipherSize = paddedSize(prepared.plainSize);
    const body: Omit<GetUploadUrlRequest, 'base_info'> = {
      filekey,
      media_type: mediaType,
      to_user_id: options.toUserId,
      rawsize: prepared.plainSize,
      rawfilemd5: prepared.md5,
      filesize: cipherSize,
      no_need_thumb: true,
      aeskey: key.toString('hex'),
    };
    const answer = await ctx.transport.post<GetUploadUrlResponse>('getUploadUrl', body, { signal });
    const url = uploadUrl(ctx.cdnBaseUrl, answer, filekey);
    const downloadParam = await postWithRetries(ctx, url, () => prepared.openCiphertext(key), cipherSize, signal);
    return {
      media: { encryptQueryParam: downloadParam, aesKey: encodeOutboundAesKey(key), encryptType: 1 },
      mediaType,
      fileName: options.fileName,
      plainSize: prepared.plainSize,
      cipherSize,
      md5: prepared.md5,
      aesKeyHex: key.toString('hex'),
      filekey,
    };
  } finally {
    await prepared.cleanup();
  }
}

/** The name the user sees: at most 255 bytes in UTF-8 (file systems' limit), no control characters. */
function checkFileName(fileName: string | undefined): void {
  if (typeof fileName !== 'string' || !fileName.trim()) throw new ValidationError('uploadMedia needs a fileName (it sets the media type and the name the user sees)');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(fileName)) throw new ValidationError('the file name contains control characters (a line break, a tab, …): give a plain name such as report.pdf');
  const bytes = Buffer.byteLength(fileName, 'utf8');
  if (bytes > 255) throw new ValidationError(`the file name is ${bytes} bytes long in UTF-8; at most 255 are allowed: give a shorter name`);
}

function checkMediaType(mediaType: unknown): OutboundMediaType | undefined {
  if (mediaType === undefined) return undefined;
  if (mediaType === UploadMediaType.VOICE) {
    throw new ValidationError('a bot cannot send a voice bubble (the chat never shows it, §10): send the audio as a file (media type 3, FILE)');
  }
  if (mediaType !== UploadMediaType.IMAGE && mediaType !== UploadMediaType.VIDEO && mediaType !== UploadMediaType.FILE) {
    throw new ValidationError(`unknown media type ${String(mediaType)}: use 1 (image), 2 (video) or 3 (file), or leave it out to choose by the file name`);
  }
  return mediaType;
}

/** §7 step 5: the trimmed upload_full_url, else {cdn}/upload?encrypted_query_param=…&filekey=…, else fail. */
export function uploadUrl(cdnBaseUrl: string, answer: GetUploadUrlResponse, filekey: string): string {
  const full = answer.upload_full_url?.trim();
  if (full) return full;
  if (answer.upload_param) return cdnUrl(cdnBaseUrl, 'upload', { encrypted_query_param: answer.upload_param, filekey });
  throw new MediaError('no_media', 'getuploadurl returned neither upload_full_url nor upload_param; cannot upload the file');
}

type AttemptResult = { ok: true; param: string } | { ok: false; error: MediaError };

async function postWithRetries(
  ctx: MediaContext,
  url: string,
  openBody: () => Readable,
  cipherSize: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  let last: MediaError | undefined;
  for (let attempt = 1; attempt <= MAX_UPLOAD_ATTEMPTS; attempt++) {
    if (signal?.aborted) throw abortError(signal);
    const result = await postOnce(ctx, url, openBody(), cipherSize, signal);
    if (result.ok) return result.param;
    last = result.error;
  }
  throw new MediaError(
    last?.kind ?? 'cdn_status',
    `CDN upload failed after ${MAX_UPLOAD_ATTEMPTS} attempts: ${last?.message ?? 'unknown error'}; check the CDN URL and the network, then try again`,
    { status: last?.status, attempts: MAX_UPLOAD_ATTEMPTS, cause: last },
  );
}

/** One POST. Returns a retryable failure, or throws for a 4xx (no retry) and for the caller's abort. */
async function postOnce(
  ctx: MediaContext,
  url: string,
  body: Readable,
  cipherSize: number,
  signal: AbortSignal | undefined,
): Promise<AttemptResult> {
  try {
    const response = await request(url, {
      method: 'POST',
      // Content-Length is known in advance; undici also checks the body matches it.
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(cipherSize) },
      body,
      signal,
      dispatcher: ctx.dispatcher,
    });
    const status = response.statusCode;
    const param = headerValue(response.headers['x-encrypted-param']);
    if (status === 200 && param) {
      await response.body.dump();
      return { ok: true, param };
    }
    const headerMessage = headerValue(response.headers['x-error-message']);
    const bodyText = await readSnippet(response.body);
    if (status >= 400 && status < 500) {
      const reason = headerMessage ?? (bodyText || 'no reason given');
      throw new MediaError('cdn_rejected', `CDN refused the upload (HTTP ${status}: ${reason}); the file was not sent: check its type and size against that reason`, {
        status,
        attempts: 1,
      });
    }
    if (status === 200) {
      return { ok: false, error: new MediaError('cdn_missing_param', 'CDN answered 200 without the x-encrypted-param header', { status }) };
    }
    const detail = headerMessage ?? bodyText;
    return { ok: false, error: new MediaError('cdn_status', `CDN answered HTTP ${status}${detail ? ` (${detail})` : ''}`, { status }) };
  } catch (error) {
    if (error instanceof MediaError) throw error;
    if (signal?.aborted) throw abortError(signal);
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: new MediaError('cdn_network', `CDN request failed: ${detail}`, { cause: error }) };
  } finally {
    body.destroy();
  }
}
