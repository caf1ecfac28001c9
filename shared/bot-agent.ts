/**
 * bot_agent sanitizer (§1 grammar): User-Agent style products `name/version`,
 * each optionally followed by ` (comment)`; ASCII; at most 256 bytes.
 */

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const VERSION = /^[A-Za-z0-9_.+-]{1,32}$/;
const COMMENT = /^\([\x20-\x27\x2a-\x7e]{1,64}\)$/;
const MAX_BYTES = 256;
export const FALLBACK_BOT_AGENT = 'OpenClaw';

function isProduct(token: string): boolean {
  const slash = token.indexOf('/');
  if (slash < 0) return false;
  return NAME.test(token.slice(0, slash)) && VERSION.test(token.slice(slash + 1));
}

export function sanitizeBotAgent(raw: string | undefined | null): string {
  const tokens = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  // Glue "(" tokens to the following ones until one ends with ")".
  const parts: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    let token = tokens[i];
    if (token.startsWith('(')) {
      while (!token.endsWith(')') && i + 1 < tokens.length) token += ' ' + tokens[++i];
    }
    parts.push(token);
  }
  const kept: string[] = [];
  let lastWasAcceptedProduct = false;
  for (const part of parts) {
    if (part.startsWith('(')) {
      if (lastWasAcceptedProduct && COMMENT.test(part)) kept[kept.length - 1] += ' ' + part;
      lastWasAcceptedProduct = false;
      continue;
    }
    lastWasAcceptedProduct = isProduct(part);
    if (lastWasAcceptedProduct) kept.push(part);
  }
  while (kept.length > 0 && Buffer.byteLength(kept.join(' '), 'utf8') > MAX_BYTES) kept.pop();
  return kept.length > 0 ? kept.join(' ') : FALLBACK_BOT_AGENT;
}
