/**
 * uint64-safe JSON (§2 "uint64 IDs"). message_id, msg_id and svr_id can exceed
 * 2^53, so their integer literals are quoted in the raw text before JSON.parse,
 * and unquoted again when we must send one as a number (recallmessage).
 */

export const UINT64_KEYS: readonly string[] = ['message_id', 'msg_id', 'svr_id'];

/**
 * Parses JSON text, turning integer values of the given keys into strings.
 * A real scanner (not a regex) so that look-alike text inside string values is
 * never touched.
 */
export function parseJsonUint64Safe<T = unknown>(text: string, keys: readonly string[] = UINT64_KEYS): T {
  return JSON.parse(quoteUint64Values(text, keys)) as T;
}

export function quoteUint64Values(text: string, keys: readonly string[] = UINT64_KEYS): string {
  const wanted = new Set(keys);
  let out = '';
  let copiedUpTo = 0;
  let lastString = '';
  let lastStringEnd = -1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      lastString = text.slice(start + 1, i);
      lastStringEnd = i + 1;
      i++;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n && /[0-9eE.+-]/.test(text[i])) i++;
      const literal = text.slice(start, i);
      if (wanted.has(lastString) && /^-?\d+$/.test(literal) && /^\s*:\s*$/.test(text.slice(lastStringEnd, start))) {
        out += text.slice(copiedUpTo, start) + '"' + literal + '"';
        copiedUpTo = i;
      }
      continue;
    }
    i++;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

/**
 * JSON.stringify, then writes the given keys' decimal-string values as bare
 * numbers. JSON.stringify escapes quotes inside strings, so the pattern only
 * matches real keys.
 */
export function stringifyWithUint64Numbers(value: unknown, keys: readonly string[] = UINT64_KEYS): string {
  let text = JSON.stringify(value);
  for (const key of keys) {
    text = text.replace(new RegExp(`"${key}":"(-?\\d+)"`, 'g'), `"${key}":$1`);
  }
  return text;
}
