/**
 * How ilink-send and friends read a msg: who to send to, and what. Kept apart
 * from the node so the rules are easy to read and to test.
 *
 * Recipient ("reply" mode, the default): the sender of msg.ilink when the msg
 * came from ilink-in (its context token is reused), else msg.to, else the
 * node's configured user. "fixed" mode ignores msg.ilink (for forwarding).
 */
import { buildMediaItem, ValidationError, type ILinkClient, type Item, type Message, type MessageItem, type SendOptions, type UploadedMedia } from '../../shared';
import type { NodeMessage } from './red-api';

export type Target = { kind: 'reply'; message: Message } | { kind: 'send'; to: string; contextToken?: string };

export type RecipientMode = 'reply' | 'fixed';

function isInboundMessage(value: unknown): value is Message {
  if (!value || typeof value !== 'object') return false;
  const message = value as Partial<Message>;
  return typeof message.from === 'string' && message.from !== '' && Array.isArray(message.items);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

export function resolveTarget(msg: NodeMessage, configuredTo: string | undefined, mode: RecipientMode = 'reply'): Target {
  if (mode === 'reply' && isInboundMessage(msg.ilink)) return { kind: 'reply', message: msg.ilink };
  const to = text(msg.to) ?? text(configuredTo);
  if (!to) {
    throw new ValidationError(
      'no recipient: send a msg that came from an ilink-in node (to reply), set msg.to, or fill in "To" (a user ID like …@im.wechat)',
    );
  }
  return { kind: 'send', to };
}

export function recipientOf(target: Target): string {
  return target.kind === 'reply' ? target.message.from : target.to;
}

export function contextTokenOf(target: Target): string | undefined {
  return target.kind === 'reply' ? target.message.contextToken : target.contextToken;
}

/** A Buffer, or its JSON form ({type: 'Buffer', data: [...]}) after a msg went through JSON. */
export function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return undefined;
}

export function isUploadedMedia(value: unknown): value is UploadedMedia {
  return !!value && typeof value === 'object' && 'media' in value && 'cipherSize' in value && 'mediaType' in value;
}

/** One part of an array payload: text, a file to upload, an upload result, or an item. */
type Part = { text: string } | { file: Buffer; fileName: string } | { uploaded: UploadedMedia } | { item: Item | MessageItem };

function isItem(value: unknown): value is Item | MessageItem {
  if (!value || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' || typeof type === 'number';
}

function toPart(value: unknown, index: number): Part {
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'number' || typeof value === 'boolean') return { text: String(value) };
  if (isUploadedMedia(value)) return { uploaded: value };
  if (value && typeof value === 'object') {
    const file = value as { data?: unknown; payload?: unknown; filename?: unknown; fileName?: unknown };
    const data = asBuffer(file.data) ?? asBuffer(file.payload);
    if (data) {
      const fileName = text(file.filename) ?? text(file.fileName);
      if (!fileName) throw new ValidationError(`payload[${index}] is a file without a filename: give it {data, filename}`);
      return { file: data, fileName };
    }
    if (isItem(value) && !asBuffer(value)) return { item: value };
  }
  throw new ValidationError(
    `payload[${index}] cannot be sent: use a text, {data: Buffer, filename}, an ilink-media upload result, or an iLink item`,
  );
}

export type Content =
  | { kind: 'text'; text: string }
  | { kind: 'media'; data: Buffer | UploadedMedia; fileName?: string; caption?: string }
  | { kind: 'parts'; parts: Part[]; caption?: string };

/** Reads msg.payload (+ msg.filename, msg.caption). Throws ValidationError for what cannot be sent. */
export function contentOf(msg: NodeMessage): Content {
  const payload = msg.payload;
  const caption = text(msg.caption);
  const buffer = asBuffer(payload);
  if (buffer) {
    const fileName = text(msg.filename);
    if (!fileName) {
      throw new ValidationError('msg.payload is a Buffer but msg.filename is missing: set msg.filename (e.g. "photo.jpg"); it sets the media type');
    }
    return { kind: 'media', data: buffer, fileName, caption };
  }
  if (isUploadedMedia(payload)) return { kind: 'media', data: payload, caption };
  if (Array.isArray(payload)) {
    if (payload.length === 0) throw new ValidationError('msg.payload is an empty array: nothing to send');
    return { kind: 'parts', parts: payload.map(toPart), caption };
  }
  if (typeof payload === 'string' || typeof payload === 'number' || typeof payload === 'boolean') {
    const value = String(payload);
    if (!value.trim()) throw new ValidationError('msg.payload is empty: nothing to send');
    return { kind: 'text', text: value };
  }
  throw new ValidationError('msg.payload must be a text, a Buffer with msg.filename, or an array of items');
}

/** Sends the content; resolves with the per-item results of the core. */
export async function sendContent(client: ILinkClient, target: Target, content: Content, sendOptions: Pick<SendOptions, 'whenClosed'> = {}) {
  const to = recipientOf(target);
  if (content.kind === 'media') {
    const options = { fileName: content.fileName, caption: content.caption, ...sendOptions };
    return target.kind === 'reply'
      ? client.replyMedia(target.message, content.data, options)
      : client.sendMedia(to, content.data, options);
  }
  let outbound: Array<string | Item | MessageItem>;
  if (content.kind === 'text') {
    outbound = [content.text];
  } else {
    outbound = content.caption ? [content.caption] : [];
    for (const part of content.parts) {
      if ('text' in part) outbound.push(part.text);
      else if ('item' in part) outbound.push(part.item);
      else if ('uploaded' in part) outbound.push(buildMediaItem(part.uploaded));
      else outbound.push(buildMediaItem(await client.uploadMedia(part.file, { fileName: part.fileName, toUserId: to })));
    }
  }
  return target.kind === 'reply' ? client.reply(target.message, outbound, sendOptions) : client.send(to, outbound, sendOptions);
}
