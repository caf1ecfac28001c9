/**
 * AES key encodings (§7). The wire carries keys three ways:
 * - `image_item.aeskey`: the 16 raw bytes as 32 hex characters;
 * - `media.aes_key` = base64 of the 16 raw bytes (usual for inbound images);
 * - `media.aes_key` = base64 of the 32-char hex string (file/voice/video, and
 *   everything we send).
 * The Go seed used the base64-decoded value directly, which turns a hex key
 * into a 32-byte AES-256 key (§8 row 28); we always end with 16 bytes.
 */
import { randomBytes } from 'node:crypto';
import type { Item } from '../model';
import { AES_KEY_BYTES } from './crypto';
import { MediaError } from './errors';

const HEX_KEY = /^[0-9a-fA-F]{32}$/;

export function generateAesKey(): Buffer {
  return randomBytes(AES_KEY_BYTES);
}

/** Decodes `media.aes_key`: 16 bytes = raw; 32 hex characters = hex-decode again; else MediaError bad_key. */
export function parseAesKey(aesKeyBase64: string): Buffer {
  const decoded = Buffer.from(aesKeyBase64.trim(), 'base64');
  if (decoded.length === AES_KEY_BYTES) return decoded;
  if (decoded.length === 2 * AES_KEY_BYTES) {
    const text = decoded.toString('latin1');
    if (HEX_KEY.test(text)) return Buffer.from(text, 'hex');
  }
  throw new MediaError(
    'bad_key',
    `the media key is not usable: base64 decodes to ${decoded.length} bytes, expected 16 raw bytes or 32 hex characters`,
  );
}

/** Decodes `image_item.aeskey` (32 hex characters). */
export function parseHexKey(aesKeyHex: string): Buffer {
  const text = aesKeyHex.trim();
  if (!HEX_KEY.test(text)) {
    throw new MediaError('bad_key', `the image key is not usable: expected 32 hex characters, got ${text.length} characters`);
  }
  return Buffer.from(text, 'hex');
}

/** `media.aes_key` as the official client sends it: base64 of the lowercase hex string (44 chars, §7 step 7). */
export function encodeOutboundAesKey(key: Buffer): string {
  return Buffer.from(key.toString('hex'), 'ascii').toString('base64');
}

/** `media.aes_key` as base64 of the 16 raw bytes (how the server often sends image keys). */
export function encodeRawAesKey(key: Buffer): string {
  return key.toString('base64');
}

/**
 * The key for an inbound item (§7 Download): an image prefers `image.aesKeyHex`,
 * then `media.aesKey`; other kinds use `media.aesKey`. Undefined when there is none.
 */
export function keyForItem(item: Item): Buffer | undefined {
  if (item.type === 'image' && item.image?.aesKeyHex?.trim()) return parseHexKey(item.image.aesKeyHex);
  const media = mediaOfItem(item);
  if (media?.aesKey?.trim()) return parseAesKey(media.aesKey);
  return undefined;
}

/** The main CDN reference of a media item (never the thumbnail: §7 says thumbnails are not fetched). */
export function mediaOfItem(item: Item) {
  switch (item.type) {
    case 'image':
      return item.image?.media;
    case 'video':
      return item.video?.media;
    case 'file':
      return item.file?.media;
    case 'voice':
      return item.voice?.media;
    default:
      return undefined;
  }
}
