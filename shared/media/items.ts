/**
 * Media items: building the outbound wire item after an upload (§7 step 8) and
 * choosing which inbound item to download (§7 "Which item is downloaded").
 */
import type { CdnMedia, Item } from '../model';
import { MessageItemType, UploadMediaType, type CDNMedia, type MessageItem } from '../wire';
import type { UploadedMedia } from './upload';

/** `{encrypt_query_param, aes_key, encrypt_type: 1}`: no full_url, no md5, no thumbnail (§7 step 8). */
export function toWireMedia(media: CdnMedia): CDNMedia {
  return { encrypt_query_param: media.encryptQueryParam, aes_key: media.aesKey, encrypt_type: 1 };
}

function baseName(fileName: string): string {
  return fileName.split(/[\\/]/).pop() || fileName;
}

/**
 * The item to send for an uploaded file, exactly as the official client builds
 * it: image → mid_size = ciphertext size; video → video_size = ciphertext
 * size; file → file_name (base name) and len = plaintext size as a string.
 */
export function buildMediaItem(uploaded: UploadedMedia): MessageItem {
  const media = toWireMedia(uploaded.media);
  switch (uploaded.mediaType) {
    case UploadMediaType.IMAGE:
      return { type: MessageItemType.IMAGE, image_item: { media, mid_size: uploaded.cipherSize } };
    case UploadMediaType.VIDEO:
      return { type: MessageItemType.VIDEO, video_item: { media, video_size: uploaded.cipherSize } };
    default:
      return {
        type: MessageItemType.FILE,
        file_item: { media, file_name: baseName(uploaded.fileName), len: String(uploaded.plainSize) },
      };
  }
}

const PRIORITY: ReadonlyArray<Item['type']> = ['image', 'video', 'file', 'voice'];

function isDownloadable(item: Item, kind: Item['type']): boolean {
  if (item.type !== kind) return false;
  // A voice with a transcript is already text: the official client does not fetch it.
  if (kind === 'voice' && item.voice?.transcript?.trim()) return false;
  return true;
}

function pickDirect(items: ReadonlyArray<Item>): Item | undefined {
  for (const kind of PRIORITY) {
    const found = items.find((item) => isDownloadable(item, kind));
    if (found) return found;
  }
  return undefined;
}

/**
 * The one item of a message to download: IMAGE > VIDEO > FILE > VOICE (a voice
 * with a transcript is skipped); if none, the media quoted by a TEXT item.
 */
export function pickMediaItem(items: ReadonlyArray<Item>): Item | undefined {
  const direct = pickDirect(items);
  if (direct) return direct;
  for (const item of items) {
    if (item.type !== 'text' || !item.quote?.item) continue;
    const quoted = pickDirect([item.quote.item]);
    if (quoted) return quoted;
  }
  return undefined;
}
