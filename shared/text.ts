/**
 * Outbound text preparation (§6 "Markdown filter" and "Text length"): the
 * markdown filter the official client runs on every outbound text, a splitter
 * that keeps each sendmessage under the 4000-character chunk limit, and the
 * combination of both that send code should call.
 */

import { ValidationError } from './errors';

/** The channel's declared `textChunkLimit` (§6 "Text length"). */
export const TEXT_CHUNK_LIMIT = 4000;

// ---------------------------------------------------------------------------
// Markdown filter (§6)
// ---------------------------------------------------------------------------

/**
 * CJK ranges that decide whether italic markers are stripped (§6): U+2E80–U+9FFF,
 * U+AC00–U+D7AF, U+F900–U+FAFF. All three lie in the BMP, so one UTF-16 unit test
 * per character is exact.
 */
const CJK_PATTERN = /[\u2E80-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF]/;

/** A fence line starts with three backticks at column 0 (§6: "an opening line starting with three backticks"). */
const FENCE_LINE = /^```/;

/** H5/H6: exactly five or six hashes and one space at the start of the line (§6). Seven or more is kept. */
const H5_H6_MARKER = /^#{5,6} /;

/**
 * Image: `![alt](url)`. Alt and URL cannot span lines; the URL ends at the first
 * `)`. `![alt]` not directly followed by `(` does not match and is kept (§6).
 */
const IMAGE = /!\[[^\]\n]*\]\([^)\n]*\)/g;

/**
 * Quote spans can contain other spans (`*中文 _x_*`); the recursion is bounded by
 * the line length anyway, but a cap keeps pathological input cheap.
 */
const MAX_EMPHASIS_DEPTH = 16;

/**
 * Applies the official outbound markdown filter (§6). Fenced code blocks are
 * copied verbatim; everything else is processed one line at a time because no
 * rule of the filter reaches across a newline (an unclosed italic span ends
 * literally at the newline).
 */
export function filterMarkdown(text: string): string {
  const lines = text.split('\n');
  let insideFence = false;
  const out: string[] = [];
  for (const line of lines) {
    if (FENCE_LINE.test(line)) {
      // Opening and closing fence lines are both copied; an unclosed fence runs to the end of the text.
      insideFence = !insideFence;
      out.push(line);
    } else if (insideFence) {
      out.push(line);
    } else {
      out.push(filterLine(line));
    }
  }
  return out.join('\n');
}

/** One line outside any fence. */
function filterLine(line: string): string {
  // Horizontal rules (`---`, `***`, `* * *`, `___`; §6 keeps them) need no case of
  // their own: such a line holds no CJK, so no emphasis span on it can be stripped.
  // H5/H6 lose "hashes plus one space"; H1–H4 and 7+ hash runs do not match and stay.
  const withoutHeading = line.replace(H5_H6_MARKER, '');
  // Images go first, so an image's alt text never decides an italic span's fate.
  const withoutImages = withoutHeading.replace(IMAGE, '');
  return filterEmphasis(withoutImages, 0);
}

function isEmphasisChar(c: string): c is '*' | '_' {
  return c === '*' || c === '_';
}

/** Length of the run of `marker` starting at `start`. */
function runLength(text: string, start: number, marker: string): number {
  let end = start;
  while (end < text.length && text[end] === marker) end++;
  return end - start;
}

/**
 * Finds the closing run for an opener of `length` markers: the next run of the
 * same marker with exactly that length. Runs of other lengths (e.g. a `**bold**`
 * pair inside `*…*`) are stepped over whole. Returns -1 when the span is
 * unclosed within the line.
 */
function findCloser(text: string, from: number, marker: string, length: number): number {
  let i = from;
  while (i < text.length) {
    if (text[i] === marker) {
      const run = runLength(text, i, marker);
      if (run === length) return i;
      i += run;
    } else {
      i++;
    }
  }
  return -1;
}

/**
 * Italic (`*x*`, `_x_`) and bold-italic (`***x***`, `___x___`) lose their markers
 * only when the inner text contains CJK (§6). A marker run is read whole: a run
 * of 2 is bold and stays, a run of 4 or more is literal text. An opener must be
 * followed by a character other than a space or newline (§6); an unclosed span
 * is emitted literally and scanning resumes right after its opener.
 */
function filterEmphasis(text: string, depth: number): string {
  if (depth > MAX_EMPHASIS_DEPTH) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (!isEmphasisChar(c)) {
      out += c;
      i++;
      continue;
    }
    const run = runLength(text, i, c);
    const next = text[i + run];
    const canOpen = (run === 1 || run === 3) && next !== undefined && next !== ' ' && next !== '\n';
    if (!canOpen) {
      out += text.slice(i, i + run);
      i += run;
      continue;
    }
    const closer = findCloser(text, i + run, c, run);
    if (closer < 0) {
      out += text.slice(i, i + run);
      i += run;
      continue;
    }
    const inner = text.slice(i + run, closer);
    // Spans nested inside (`*中文 _x_*`, `**_中文_**` handled by the outer loop) are filtered too.
    const filteredInner = filterEmphasis(inner, depth + 1);
    if (CJK_PATTERN.test(inner)) {
      out += filteredInner;
    } else {
      out += text.slice(i, i + run) + filteredInner + text.slice(closer, closer + run);
    }
    i = closer + run;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Splitting (§6 "Text length")
// ---------------------------------------------------------------------------

const WHITESPACE = /^\s$/u;
const HAS_NON_WHITESPACE = /\S/u;

/**
 * Splits text into chunks of at most `limit` Unicode code points (never inside
 * a surrogate pair). Within each window it cuts at the last newline, else at
 * the last whitespace, else hard at the limit. The newline or whitespace cut on
 * is dropped (it is the separator between two messages); nothing else is.
 * A separator directly after a full window also counts, so a line of exactly
 * `limit` characters followed by a newline becomes one whole chunk.
 * Chunks holding only whitespace are dropped: they would be empty messages.
 */
export function splitText(text: string, limit: number = TEXT_CHUNK_LIMIT): string[] {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError(`the text chunk limit must be a whole number of at least 1, got ${String(limit)}`);
  }
  const codePoints = Array.from(text);
  const chunks: string[] = [];
  const keep = (chunk: string[]): void => {
    const joined = chunk.join('');
    if (HAS_NON_WHITESPACE.test(joined)) chunks.push(joined);
  };

  let start = 0;
  while (codePoints.length - start > limit) {
    // Candidates are cut positions 1..limit relative to start: cutting at the
    // character at `start + cut` keeps `cut` code points and drops that separator.
    let cut = lastCutIndex(codePoints, start, limit, (c) => c === '\n');
    if (cut < 0) cut = lastCutIndex(codePoints, start, limit, (c) => WHITESPACE.test(c));
    if (cut < 0) {
      keep(codePoints.slice(start, start + limit));
      start += limit;
    } else {
      keep(codePoints.slice(start, start + cut));
      start += cut + 1;
    }
  }
  keep(codePoints.slice(start));
  return chunks;
}

function lastCutIndex(codePoints: string[], start: number, limit: number, isSeparator: (c: string) => boolean): number {
  for (let cut = limit; cut >= 1; cut--) {
    if (isSeparator(codePoints[start + cut])) return cut;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Combined
// ---------------------------------------------------------------------------

export interface PrepareTextOptions {
  /** Run the markdown filter (§6). Default true, like the official client. */
  markdown?: boolean;
  /** Chunk limit in code points. Default TEXT_CHUNK_LIMIT (4000). */
  limit?: number;
}

/**
 * Filters (unless `markdown` is false) and splits outbound text into the texts
 * of separate sendmessage calls. Empty text must never be sent (§6: it produces
 * no item_list), so empty or whitespace-only input, before or after the filter,
 * is a ValidationError.
 */
export function prepareOutboundText(text: string, options: PrepareTextOptions = {}): string[] {
  if (typeof text !== 'string') {
    throw new ValidationError(`the text to send is empty: expected a string, got ${text === null ? 'null' : typeof text}`);
  }
  if (!HAS_NON_WHITESPACE.test(text)) {
    throw new ValidationError('the text to send is empty: it has no characters other than whitespace; provide some text');
  }
  const filtered = options.markdown === false ? text : filterMarkdown(text);
  if (!HAS_NON_WHITESPACE.test(filtered)) {
    throw new ValidationError(
      'the text to send is empty: nothing is left after the markdown filter removed images and heading markers; ' +
        'send the images as media, or turn the markdown filter off',
    );
  }
  return splitText(filtered, options.limit ?? TEXT_CHUNK_LIMIT);
}
