/** Small node:http helpers: body reading and JSON/text answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifyWithUint64Numbers } from '../shared/json';

/** IDs the simulator writes as bare JSON numbers (§2 uint64). Item msg_id is a string on the wire (§4), so it stays quoted. */
export const BARE_NUMBER_KEYS: readonly string[] = ['message_id', 'svr_id'];

export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new BodyTooLargeError(`body over ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** JSON text with uint64 IDs as bare numbers, as the real server writes them. */
export function apiJson(value: unknown): string {
  return stringifyWithUint64Numbers(value, BARE_NUMBER_KEYS);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
  res.end(body);
}

/** Plain JSON (admin and chat routes): IDs stay strings there. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

export function queryObject(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of query) out[key] = value;
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
