/**
 * Media a person sends from the chat page as a WeChat user:
 * `POST /_chat/upload?botId=&userId=&kind=image|file|video|voice&fileName=`
 * with the raw bytes as the body, and `POST /_chat/voice-sample?botId=&userId=`
 * for a generated SILK voice note. The simulator encrypts the bytes into its
 * CDN (SimCdn.encryptAndStore: the item exactly as the real server delivers
 * it, §7) and injects the message into the bot's getupdates queue.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_MEDIA_MAX_BYTES, formatBytes } from '../shared/media/errors';
import type { SimMediaKind } from './cdn';
import type { SimContext } from './api/types';
import { sendJson } from './http-util';
import { makeSampleSilk } from './silk-sample';

/** Same cap as inbound media (§7): 100 MiB. */
export const CHAT_UPLOAD_MAX_BYTES = DEFAULT_MEDIA_MAX_BYTES;

const KINDS: readonly SimMediaKind[] = ['image', 'file', 'video', 'voice'];

export class ChatRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the whole body, or throws a 413 without keeping the bytes when it passes the cap (the body is still drained). */
export async function readCappedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const announced = Number(req.headers['content-length']);
  const tooLarge = (size: number) =>
    new ChatRequestError(413, `文件太大 / File too large: ${formatBytes(size)}; the limit is ${formatBytes(maxBytes)}, as for WeChat media`);
  const chunks: Buffer[] = [];
  let total = 0;
  let keep = !(Number.isFinite(announced) && announced > maxBytes);
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) keep = false;
    if (keep) chunks.push(chunk);
  }
  if (!keep) throw tooLarge(Math.max(total, Number.isFinite(announced) ? announced : 0));
  return Buffer.concat(chunks, total);
}

function requiredParam(query: URLSearchParams, name: string): string {
  const value = query.get(name)?.trim();
  if (!value) throw new ChatRequestError(400, `缺少参数 / missing query parameter: ${name}`);
  return value;
}

function kindParam(query: URLSearchParams): SimMediaKind {
  const kind = requiredParam(query, 'kind') as SimMediaKind;
  if (!KINDS.includes(kind)) throw new ChatRequestError(400, `kind must be one of ${KINDS.join(', ')}`);
  return kind;
}

function requireBot(ctx: SimContext, botId: string): void {
  if (!ctx.state.getBot(botId)) throw new ChatRequestError(404, `没有这个机器人 / unknown bot ${botId}`);
}

/** Only the base name, as WeChat shows it (no folders from a pasted path). */
function baseFileName(name: string | null): string | undefined {
  const base = name?.split(/[\\/]/).pop()?.trim();
  return base || undefined;
}

/** Encrypts the plaintext into the CDN and injects it as a message from the user. */
export async function injectMedia(ctx: SimContext, target: { botId: string; userId: string }, plaintext: Buffer, kind: SimMediaKind, fileName?: string) {
  const item = await ctx.cdn.encryptAndStore(plaintext, { kind, fileName });
  const injected = ctx.state.injectMessage({ botId: target.botId, from: target.userId, items: [item] });
  return { messageId: injected.messageId, kind, size: plaintext.length };
}

/** POST /_chat/upload */
export async function handleChatUpload(ctx: SimContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const botId = requiredParam(query, 'botId');
  const userId = requiredParam(query, 'userId');
  const kind = kindParam(query);
  requireBot(ctx, botId);
  const data = await readCappedBody(req, CHAT_UPLOAD_MAX_BYTES);
  if (data.length === 0) throw new ChatRequestError(400, '文件是空的 / the file is empty');
  const fileName = baseFileName(query.get('fileName'));
  sendJson(res, 200, await injectMedia(ctx, { botId, userId }, data, kind, kind === 'file' ? (fileName ?? 'file.bin') : fileName));
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req) {
    // a voice sample request has no body worth reading
  }
}

let sample: Promise<Buffer> | undefined;

/** The SILK sample is made once per process (silk-wasm runs for a moment). */
function sampleSilk(): Promise<Buffer> {
  sample ??= makeSampleSilk().catch((error: unknown) => {
    sample = undefined;
    throw error;
  });
  return sample;
}

/** POST /_chat/voice-sample */
export async function handleVoiceSample(ctx: SimContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const botId = requiredParam(query, 'botId');
  const userId = requiredParam(query, 'userId');
  requireBot(ctx, botId);
  await drain(req);
  sendJson(res, 200, await injectMedia(ctx, { botId, userId }, await sampleSilk(), 'voice'));
}
