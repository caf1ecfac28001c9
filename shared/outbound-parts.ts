/**
 * Outbound content given as plain values, the way low-code hosts carry it
 * (a Node-RED msg.payload, the JSON an earlier node produced): a text, a file
 * with its name, an earlier upload's reference, or a list of such parts. What
 * each value means, and how it becomes one send (caption first, files
 * uploaded for the recipient), is decided here, the same for every host.
 */
import type { ILinkClient, MediaSendOptions } from './client';
import { ValidationError } from './errors';
import { buildMediaItem, type UploadedMedia } from './media';
import type { Item, Message } from './model';
import type { OutboundContent, SendOptions, SendResult } from './send';
import type { MessageItem } from './wire';

/** A Buffer, or its JSON form ({type: 'Buffer', data: [...]}) after a value went through JSON. */
export function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return undefined;
}

/** The reference uploadMedia returned, also after a trip through JSON: it is sent as is, without a new upload. */
export function isUploadedMedia(value: unknown): value is UploadedMedia {
  return !!value && typeof value === 'object' && !Buffer.isBuffer(value) && 'media' in value && 'cipherSize' in value && 'mediaType' in value;
}

/** One part of a list: text, a file to upload, an earlier upload, or an item (friendly or wire). */
export type OutboundPart = { text: string } | { file: Buffer; fileName: string } | { uploaded: UploadedMedia } | { item: Item | MessageItem };

/** What a value asks to send: a text, one media (with caption), or a list of parts (after the caption). */
export type OutboundRequest =
  | { kind: 'text'; text: string }
  | { kind: 'media'; data: Buffer | UploadedMedia; fileName?: string; caption?: string }
  | { kind: 'parts'; parts: OutboundPart[]; caption?: string };

/** How the host calls the fields, so that errors name what the user fills in (e.g. "msg.payload"). */
export interface OutboundFieldNames {
  payload: string;
  fileName: string;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function isItem(value: unknown): value is Item | MessageItem {
  if (!value || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' || typeof type === 'number';
}

/** One element of a list; `where` names it in errors (e.g. "msg.payload[2]"). */
export function toOutboundPart(value: unknown, where: string): OutboundPart {
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'number' || typeof value === 'boolean') return { text: String(value) };
  if (isUploadedMedia(value)) return { uploaded: value };
  if (value && typeof value === 'object') {
    const file = value as { data?: unknown; payload?: unknown; filename?: unknown; fileName?: unknown };
    const data = asBuffer(file.data) ?? asBuffer(file.payload);
    if (data) {
      const fileName = nonEmpty(file.filename) ?? nonEmpty(file.fileName);
      if (!fileName) throw new ValidationError(`${where} is a file without a file name: give it {data, filename} (the name sets the media type)`);
      return { file: data, fileName };
    }
    if (isItem(value) && !asBuffer(value)) return { item: value };
  }
  throw new ValidationError(`${where} cannot be sent: use a text, {data: Buffer, filename}, the result of a media upload, or an iLink item`);
}

/** Reads a payload (with its file name and caption); throws a ValidationError naming the host's fields for what cannot be sent. */
export function readOutbound(
  input: { payload: unknown; fileName?: unknown; caption?: unknown },
  names: OutboundFieldNames = { payload: 'payload', fileName: 'fileName' },
): OutboundRequest {
  const { payload } = input;
  const caption = nonEmpty(input.caption);
  const buffer = asBuffer(payload);
  if (buffer) {
    const fileName = nonEmpty(input.fileName);
    if (!fileName) {
      throw new ValidationError(`${names.payload} is a Buffer but ${names.fileName} is missing: set ${names.fileName} (e.g. "photo.jpg"); it sets the media type`);
    }
    return { kind: 'media', data: buffer, fileName, caption };
  }
  if (isUploadedMedia(payload)) return { kind: 'media', data: payload, caption };
  if (Array.isArray(payload)) {
    if (payload.length === 0) throw new ValidationError(`${names.payload} is an empty list: nothing to send`);
    return { kind: 'parts', parts: payload.map((part, i) => toOutboundPart(part, `${names.payload}[${i}]`)), caption };
  }
  if (typeof payload === 'string' || typeof payload === 'number' || typeof payload === 'boolean') {
    const text = String(payload);
    if (!text.trim()) throw new ValidationError(`${names.payload} is empty: nothing to send`);
    return { kind: 'text', text };
  }
  throw new ValidationError(`${names.payload} must be a text, a Buffer with ${names.fileName}, an upload's result, or a list of these`);
}

/** The parts as one send's content: the caption first, files uploaded for `to` on the way. */
export async function composeOutbound(
  client: Pick<ILinkClient, 'uploadMedia'>,
  to: string,
  parts: readonly OutboundPart[],
  options: { caption?: string; signal?: AbortSignal } = {},
): Promise<Array<string | Item | MessageItem>> {
  const content: Array<string | Item | MessageItem> = options.caption ? [options.caption] : [];
  for (const part of parts) {
    if ('text' in part) content.push(part.text);
    else if ('item' in part) content.push(part.item);
    else if ('uploaded' in part) content.push(buildMediaItem(part.uploaded));
    else content.push(buildMediaItem(await client.uploadMedia(part.file, { fileName: part.fileName, toUserId: to, signal: options.signal })));
  }
  return content;
}

/** Sends a request to a user, or as a reply to their message (its context token, one run_id). */
export async function sendOutbound(
  client: Pick<ILinkClient, 'uploadMedia' | 'send' | 'reply' | 'sendMedia' | 'replyMedia'>,
  target: { to: string } | { replyTo: Message },
  request: OutboundRequest,
  options: Omit<SendOptions, 'contextToken'> = {},
): Promise<SendResult[]> {
  const to = 'replyTo' in target ? target.replyTo.from : target.to;
  if (request.kind === 'media') {
    const mediaOptions: MediaSendOptions & Omit<SendOptions, 'contextToken'> = { fileName: request.fileName, caption: request.caption, ...options };
    return 'replyTo' in target ? client.replyMedia(target.replyTo, request.data, mediaOptions) : client.sendMedia(to, request.data, mediaOptions);
  }
  const content: OutboundContent =
    request.kind === 'text' ? request.text : await composeOutbound(client, to, request.parts, { caption: request.caption, signal: options.signal });
  return 'replyTo' in target ? client.reply(target.replyTo, content, options) : client.send(to, content, options);
}
