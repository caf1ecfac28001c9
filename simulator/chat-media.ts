/**
 * Media on the chat page. `GET /_chat/media?botId=&messageId=&index=` serves
 * the decrypted bytes of one item of the conversation (sent by the bot or by
 * a user). The item and its key are looked up server-side from the timeline;
 * the page never hands the simulator a key. Images are typed by their magic
 * bytes, files by their name, video as video/mp4, voice is decoded from SILK
 * to WAV (audio/silk when that fails), as §7 stores them.
 * Also routes the upload endpoints of chat-upload.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decryptAesEcb } from '../shared/media/crypto';
import { parseAesKey, parseHexKey } from '../shared/media/keys';
import { DEFAULT_MIME, mimeFromFileName, sniffImage } from '../shared/media/mime';
import { silkToWav } from '../shared/media/voice';
import { MessageItemType, type CDNMedia, type MessageItem } from '../shared/wire';
import type { SimContext } from './api/types';
import { ChatRequestError, handleChatUpload, handleVoiceSample } from './chat-upload';
import { sendJson } from './http-util';

export interface ServedMedia {
  data: Buffer;
  contentType: string;
  fileName: string;
  /** Files are downloaded; images, video and voice show inline. */
  disposition: 'inline' | 'attachment';
}

const CHAT_MEDIA_ROUTES: Record<string, (ctx: SimContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>> = {
  'POST /_chat/upload': handleChatUpload,
  'POST /_chat/voice-sample': handleVoiceSample,
  'GET /_chat/media': handleChatMedia,
  'HEAD /_chat/media': handleChatMedia,
};

export function isChatMediaPath(pathname: string): boolean {
  return pathname === '/_chat/upload' || pathname === '/_chat/voice-sample' || pathname === '/_chat/media';
}

/** Entry point from the router for the paths of isChatMediaPath. */
export async function handleChatMediaRoute(ctx: SimContext, req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<void> {
  const handler = CHAT_MEDIA_ROUTES[`${req.method ?? 'GET'} ${pathname}`];
  try {
    if (!handler) throw new ChatRequestError(405, `${req.method} is not allowed on ${pathname}`);
    await handler(ctx, req, res, query);
  } catch (error) {
    const status = error instanceof ChatRequestError ? error.status : 500;
    sendJson(res, status, { error: (error as Error).message });
  }
}

/** GET /_chat/media */
async function handleChatMedia(ctx: SimContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const item = findItem(ctx, query.get('botId') ?? '', query.get('messageId') ?? '', query.get('index') ?? '0');
  const media = await decryptItem(ctx, item);
  res.writeHead(200, {
    'Content-Type': media.contentType,
    'Content-Length': media.data.length,
    'Content-Disposition': contentDisposition(media.disposition, media.fileName),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : media.data);
}

/** The item at `index` of a message in this bot's conversation; 404 for anything unknown. */
export function findItem(ctx: SimContext, botId: string, messageId: string, index: string): MessageItem {
  if (!ctx.state.getBot(botId)) throw new ChatRequestError(404, `没有这个机器人 / unknown bot ${botId}`);
  const entry = ctx.state.timeline(botId).find((candidate) => candidate.messageId === messageId);
  if (!entry) throw new ChatRequestError(404, `没有这条消息 / unknown message ${messageId}`);
  const item = /^\d+$/.test(index) ? entry.items[Number(index)] : undefined;
  if (!item) throw new ChatRequestError(404, `message ${messageId} has no item ${index}`);
  return item;
}

/** The CDN reference of a media item (never a thumbnail). */
function mediaOf(item: MessageItem): CDNMedia | undefined {
  return item.image_item?.media ?? item.video_item?.media ?? item.file_item?.media ?? item.voice_item?.media;
}

/** §7 keys: an image prefers image_item.aeskey (hex), then media.aes_key; an image without a key is plain. */
function keyOf(item: MessageItem, media: CDNMedia): Buffer | undefined {
  if (item.type === MessageItemType.IMAGE && item.image_item?.aeskey?.trim()) return parseHexKey(item.image_item.aeskey);
  if (media.aes_key?.trim()) return parseAesKey(media.aes_key);
  if (item.type === MessageItemType.IMAGE) return undefined;
  throw new ChatRequestError(422, 'this media item has no aes_key');
}

function plaintextOf(ctx: SimContext, item: MessageItem): Buffer {
  const media = mediaOf(item);
  if (!media?.encrypt_query_param) throw new ChatRequestError(404, 'this item has no media on the simulator CDN');
  const stored = ctx.cdn.readObject(media.encrypt_query_param);
  if (!stored) throw new ChatRequestError(404, 'the media is not on the simulator CDN (it may have been reset)');
  const key = keyOf(item, media);
  if (!key) return stored.ciphertext;
  try {
    return decryptAesEcb(key, stored.ciphertext);
  } catch {
    throw new ChatRequestError(422, 'the media does not decrypt with the key in its message');
  }
}

/** Decrypted bytes with the type and name the page needs. */
export async function decryptItem(ctx: SimContext, item: MessageItem): Promise<ServedMedia> {
  const data = plaintextOf(ctx, item);
  switch (item.type) {
    case MessageItemType.IMAGE: {
      const sniffed = sniffImage(data);
      return { data, contentType: sniffed?.mimeType ?? DEFAULT_MIME, fileName: `image.${sniffed?.extension ?? 'bin'}`, disposition: 'inline' };
    }
    case MessageItemType.VIDEO:
      return { data, contentType: 'video/mp4', fileName: 'video.mp4', disposition: 'inline' };
    case MessageItemType.FILE: {
      const fileName = item.file_item?.file_name || 'file.bin';
      return { data, contentType: mimeFromFileName(fileName), fileName, disposition: 'attachment' };
    }
    case MessageItemType.VOICE: {
      const voice = await silkToWav(data);
      const fileName = voice.mimeType === 'audio/wav' ? 'voice.wav' : 'voice.silk';
      return { data: voice.data, contentType: voice.mimeType, fileName, disposition: 'inline' };
    }
    default:
      throw new ChatRequestError(404, `item type ${item.type} has no media`);
  }
}

/**
 * `inline; filename="report.pdf"`, plus RFC 5987 `filename*=UTF-8''…` with an
 * ASCII fallback when the name has other characters (Chinese names).
 */
export function contentDisposition(disposition: 'inline' | 'attachment', fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  if (fallback === fileName) return `${disposition}; filename="${fileName}"`;
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
