/**
 * Files from simulator/public. Resolved from __dirname so the same code finds
 * them under simulator/ (ts-jest) and dist/simulator/ (compiled; gulp copies
 * public/** there).
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { sendText } from './http-util';

export const PUBLIC_DIR = join(__dirname, 'public');

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
};

/** Only plain names like `chat.js`: no directories, no dot-files, so nothing outside public/ is reachable. */
export function isSafePublicName(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.[a-z0-9]+$/.test(name) && !name.includes('..');
}

export async function readPublicText(name: string): Promise<string> {
  return readFile(join(PUBLIC_DIR, name), 'utf8');
}

export async function servePublicFile(res: ServerResponse, name: string): Promise<void> {
  if (!isSafePublicName(name)) return sendText(res, 404, 'Not Found');
  const extension = name.slice(name.lastIndexOf('.') + 1);
  try {
    const content = await readFile(join(PUBLIC_DIR, name));
    res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extension] ?? 'application/octet-stream', 'Content-Length': content.length, 'Cache-Control': 'no-cache' });
    res.end(content);
  } catch {
    sendText(res, 404, 'Not Found');
  }
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Fills {{NAME}} placeholders with HTML-escaped values. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) => (key in values ? escapeHtml(values[key]) : whole));
}
