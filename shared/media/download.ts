/**
 * Inbound media (§7 Download), with the fixes of §8 rows 28–29: both key
 * formats, image_item.aeskey first, unkeyed images fetched as plain bytes, the
 * HTTP status checked, and `{cdn}/download?encrypted_query_param=…`. A
 * full_url is fetched only on the CDN (checkedFullUrl), and no redirect is
 * followed, so a download never reads from anywhere else.
 * The body is streamed and decrypted as it arrives; the cap is enforced while
 * reading, so an oversized download stops as soon as it passes the limit.
 */
import { createHash, type Hash } from 'node:crypto';
import { request } from 'undici';
import type { Item } from '../model';
import { abortError } from '../transport';
import { AES_BLOCK, EcbDecryptor, paddedSize } from './crypto';
import { DEFAULT_MEDIA_MAX_BYTES, MediaError, tooLargeError } from './errors';
import { cdnUrl, checkedFullUrl, DOWNLOAD_IDLE_TIMEOUT_MS, headerValue, readSnippet, type MediaContext } from './http';
import { keyForItem, mediaOfItem } from './keys';
import { mimeFromFileName, safeFileName, sniffImage } from './mime';
import { silkToWav } from './voice';

export type MediaKind = 'image' | 'video' | 'file' | 'voice';

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Turn SILK voice into WAV (default true). */
  decodeVoice?: boolean;
}

export interface DownloadedMedia {
  data: Buffer;
  /** Safe to write to disk as is (safeFileName): no directories, control characters or leading dots. */
  fileName: string;
  /** The file name the sender gave, when it differs from fileName. Never use it as a path. */
  originalFileName?: string;
  mimeType: string;
  size: number;
  kind: MediaKind;
  /** Voice duration in ms, when it was decoded. */
  durationMs?: number;
  /** Something the user should know, e.g. that a voice stayed SILK. */
  note?: string;
  /**
   * Whether the data matches the MD5 a file or video item carries; undefined
   * when the item has none. A mismatch is reported, not thrown: the sheet does
   * not say what that MD5 covers on the real server, and the official client
   * never checks it.
   */
  md5Matches?: boolean;
}

/** Downloads and decrypts the media of one friendly item. Throws MediaError. */
export async function downloadMedia(ctx: MediaContext, item: Item, options: DownloadOptions = {}): Promise<DownloadedMedia> {
  const kind = item.type;
  if (kind !== 'image' && kind !== 'video' && kind !== 'file' && kind !== 'voice') {
    throw new MediaError('no_media', `a ${kind} item has no media to download`);
  }
  const media = mediaOfItem(item);
  const fullUrl = media?.fullUrl?.trim();
  const url = fullUrl
    ? checkedFullUrl(fullUrl, ctx.cdnBaseUrl)
    : media?.encryptQueryParam
      ? cdnUrl(ctx.cdnBaseUrl, 'download', { encrypted_query_param: media.encryptQueryParam })
      : undefined;
  if (!url) throw new MediaError('no_media', `the ${kind} has no CDN reference (encrypt_query_param or full_url); nothing to download`);
  const key = keyForItem(item);
  // Only an image may come without a key: it is then plain bytes (§7 IMAGE).
  if (!key && kind !== 'image') throw new MediaError('no_media', `the ${kind} has no aes_key; it cannot be decrypted`);

  const maxBytes = ctx.maxBytes ?? DEFAULT_MEDIA_MAX_BYTES;
  const expectedMd5 = key ? plaintextMd5(item) : undefined;
  // Hashed as the plaintext arrives, so the check mostly overlaps the transfer.
  const hash = expectedMd5 ? createHash('md5') : undefined;
  const data = await fetchBody(ctx, url, key, maxBytes, options.signal, hash);
  const result = await describe(kind, item, data, options.decodeVoice ?? true);
  if (!hash) return result;
  const md5Matches = hash.digest('hex') === expectedMd5;
  if (md5Matches) return { ...result, md5Matches };
  const note = `the data does not match the item's MD5 ${expectedMd5}: the key may be wrong or the file damaged`;
  return { ...result, md5Matches, note: result.note ? `${result.note}; ${note}` : note };
}

async function fetchBody(
  ctx: MediaContext,
  url: string,
  key: Buffer | undefined,
  maxBytes: number,
  signal: AbortSignal | undefined,
  hash: Hash | undefined,
): Promise<Buffer> {
  // The cap is on the plaintext; an encrypted body may be up to one padding block longer.
  const wireLimit = key ? paddedSize(maxBytes) : maxBytes;
  let response;
  try {
    const idle = ctx.idleTimeoutMs ?? DOWNLOAD_IDLE_TIMEOUT_MS;
    response = await request(url, { method: 'GET', signal, dispatcher: ctx.dispatcher, headersTimeout: idle, bodyTimeout: idle, ...NO_REDIRECTS });
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw new MediaError('cdn_network', `CDN download failed: ${(error as Error).message}; check the network and try again`, { cause: error });
  }
  const status = response.statusCode;
  if (status >= 300 && status < 400) {
    discardBody(response.body);
    const target = redirectTarget(url, headerValue(response.headers.location));
    throw new MediaError(
      'cdn_status',
      `the CDN answered HTTP ${status}, a redirect${target ? ` to ${target}` : ''}, which is not followed (media is only downloaded from the CDN itself); ` +
        'check the CDN base URL in the credential or config node, or try again later',
      { status },
    );
  }
  if (status < 200 || status > 299) {
    const snippet = await readSnippet(response.body);
    throw new MediaError('cdn_status', `CDN download failed with HTTP ${status}${snippet ? ` (${snippet})` : ''}; try again later (a link that keeps failing may have expired)`, {
      status,
    });
  }
  const announced = Number(response.headers['content-length']);
  const hasLength = Number.isFinite(announced) && announced >= 0;
  if (hasLength && announced > wireLimit) {
    discardBody(response.body);
    throw tooLargeError('the media', key ? Math.max(0, announced - AES_BLOCK) : announced, maxBytes);
  }

  const sink = new ByteSink(hasLength ? announced : undefined);
  const write = (piece: Buffer) => {
    sink.write(piece);
    hash?.update(piece);
  };
  const decryptor = key ? new EcbDecryptor(key) : undefined;
  let received = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > wireLimit) throw tooLargeError('the media', undefined, maxBytes);
      if (decryptor) decryptor.update(chunk, write);
      else write(chunk);
    }
  } catch (error) {
    discardBody(response.body);
    if (error instanceof MediaError) throw error;
    if (signal?.aborted) throw abortError(signal);
    throw new MediaError('cdn_network', `CDN download was cut short after ${received} bytes: ${(error as Error).message}; try again`, {
      cause: error,
    });
  }
  if (hasLength && received !== announced) {
    throw new MediaError('cdn_network', `CDN download was cut short: got ${received} of ${announced} bytes; try again`);
  }
  if (decryptor) write(decryptor.final());
  return sink.result();
}

/**
 * undici's request() follows no redirect, but a dispatcher composed with its
 * redirect interceptor would, to any host; a request's maxRedirections of 0
 * turns that off (the convention of undici's Dispatcher docs, "compose").
 * Not in undici's types, hence the cast.
 */
const NO_REDIRECTS = { maxRedirections: 0 } as object;

/** Where a redirect pointed (its origin only: the rest may be long or carry a signature). */
function redirectTarget(url: string, location: string | undefined): string | undefined {
  if (!location) return undefined;
  try {
    const { origin } = new URL(location, url);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * About 1 wrong key in 255 still yields valid PKCS#7 padding, and then garbage.
 * File and video items carry an MD5 (§4 FileItem md5, VideoItem video_md5),
 * presumably of the plaintext (what the sender gave getuploadurl as
 * rawfilemd5), which flags those. A missing or malformed value is not checked.
 */
function plaintextMd5(item: Item): string | undefined {
  const value = item.type === 'file' ? item.file?.md5 : item.type === 'video' ? item.video?.videoMd5 : undefined;
  const normalized = value?.trim().toLowerCase();
  return normalized && /^[0-9a-f]{32}$/.test(normalized) ? normalized : undefined;
}

/**
 * Collects the plaintext. With a known Content-Length it writes into one
 * preallocated buffer, so a 100 MiB download is not held twice (chunks + concat).
 */
class ByteSink {
  private readonly buffer: Buffer | undefined;
  private readonly chunks: Buffer[] = [];
  private length = 0;
  constructor(capacity: number | undefined) {
    this.buffer = capacity !== undefined ? Buffer.allocUnsafe(capacity) : undefined;
  }
  write(piece: Buffer): void {
    if (this.buffer) {
      // Plaintext is never longer than the ciphertext, so more than Content-Length means a broken transfer.
      if (this.length + piece.length > this.buffer.length) {
        throw new MediaError('cdn_network', 'CDN sent more bytes than its Content-Length announced; try again');
      }
      piece.copy(this.buffer, this.length);
    } else {
      this.chunks.push(piece);
    }
    this.length += piece.length;
  }
  result(): Buffer {
    return this.buffer ? this.buffer.subarray(0, this.length) : Buffer.concat(this.chunks, this.length);
  }
}

async function describe(kind: MediaKind, item: Item, data: Buffer, decodeVoice: boolean): Promise<DownloadedMedia> {
  switch (kind) {
    case 'image': {
      const sniffed = sniffImage(data);
      return { data, kind, size: data.length, fileName: `image.${sniffed?.extension ?? 'jpg'}`, mimeType: sniffed?.mimeType ?? 'image/jpeg' };
    }
    case 'video':
      return { data, kind, size: data.length, fileName: 'video.mp4', mimeType: 'video/mp4' };
    case 'file': {
      // The sender chose this name: hand out a safe one, and the raw one apart.
      const original = item.file?.fileName;
      const fileName = safeFileName(original);
      const result: DownloadedMedia = { data, kind, size: data.length, fileName, mimeType: mimeFromFileName(fileName) };
      if (original !== undefined && original !== fileName) result.originalFileName = original;
      return result;
    }
    case 'voice': {
      if (!decodeVoice) return { data, kind, size: data.length, fileName: 'voice.silk', mimeType: 'audio/silk' };
      const voice = await silkToWav(data);
      return {
        data: voice.data,
        kind,
        size: voice.data.length,
        fileName: voice.mimeType === 'audio/wav' ? 'voice.wav' : 'voice.silk',
        mimeType: voice.mimeType,
        durationMs: voice.durationMs,
        note: voice.note,
      };
    }
  }
}

/**
 * Destroys a response body we no longer want. undici may emit an abort error
 * on it afterwards with nobody listening, which would crash the host process,
 * so a listener that swallows it goes on first.
 */
function discardBody(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => undefined);
  body.destroy();
}
