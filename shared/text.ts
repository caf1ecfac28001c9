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

const HAS_NON_WHITESPACE = /\S/u;
const ALL_WHITESPACE = /^\s+$/u;
/** Whitespace that must not become a cut (no-break spaces, the BOM); it is still trimmed at cuts. */
const NO_BREAK_WHITESPACE = /^[\u00A0\u2007\u202F\uFEFF]+$/u;

/**
 * Grapheme segmenter, built once: the splitter runs on every send. Grapheme
 * cluster rules (UAX #29) do not depend on the locale.
 */
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * UTF-16 length of the slices handed to the segmenter. V8 before 12.x (Node
 * 20) walks a segmenter's string in quadratic time (crbug.com/326176949): on
 * Node 20.20 a 100 KB text took 3–4 s in one piece and takes under 0.15 s in
 * slices (Node 24: about the same either way).
 */
const SEGMENT_SLICE = 256;

/**
 * Calls `visit` with every grapheme cluster of `text` and its UTF-16 offset,
 * segmenting slice by slice. A slice's last cluster may be cut short by the
 * slice end, so it is not taken: the next slice starts at it. That is exact
 * because a grapheme boundary (UAX #29) depends only on the text before it and
 * the one character after it, segmenting again from a boundary finds the same
 * boundaries after it, and a slice never ends inside a surrogate pair. A
 * cluster longer than a slice makes the slice grow until it holds it.
 */
function forEachGrapheme(text: string, visit: (segment: string, index: number) => void): void {
  let from = 0;
  let size = SEGMENT_SLICE;
  while (from < text.length) {
    let to = from + size;
    if (to >= text.length) {
      for (const { segment, index } of GRAPHEMES.segment(from === 0 ? text : text.slice(from))) visit(segment, from + index);
      return;
    }
    const high = text.charCodeAt(to - 1);
    if (high >= 0xd800 && high <= 0xdbff) to++;
    let pending: Intl.SegmentData | undefined;
    let taken = false;
    for (const data of GRAPHEMES.segment(text.slice(from, to))) {
      if (pending !== undefined) {
        visit(pending.segment, from + pending.index);
        taken = true;
      }
      pending = data;
    }
    if (!taken || pending === undefined) {
      size *= 2;
      continue;
    }
    from += pending.index;
    size = SEGMENT_SLICE;
  }
}

/** Latin sentence ends: they count only when whitespace follows (so `3.14` and `a.b` are not cut). */
const LATIN_SENTENCE_END = new Set(['.', '!', '?']);
/** Chinese sentence ends (full-width, plus the half-width ideographic full stop): no space needed after them. */
const CJK_SENTENCE_END = new Set(['。', '！', '？', '｡']);
/** Chinese clause ends: a weaker tier than sentences, still better than a space or a hard cut. */
const CJK_CLAUSE_END = new Set(['；', '…']);
/** Closing quotes and brackets that may follow a sentence end and stay with it: `“好。”` is cut after `”`. */
const CLOSERS = new Set([...'"\')]}»’”」』）》】〉〕］｝']);
/** Closers looked at behind a sentence end; more than this in a row is not a sentence end any more. */
const MAX_CLOSERS = 3;

// Unit flags.
const WS = 1; // the unit is whitespace
const BREAKING_WS = 2; // whitespace other than a no-break space
const NEWLINE = 4; // the unit holds a '\n' ("\n" or "\r\n")
const LATIN_END = 8;
const CJK_END = 16;
const CLAUSE_END = 32;
const CLOSER = 64;
const PUNCTUATION = LATIN_END | CJK_END | CLAUSE_END | CLOSER;

// Cut tiers, best first.
const PARAGRAPH = 0;
const LINE = 1;
const SENTENCE = 2;
const CLAUSE = 3;
const SPACE = 4;
const HARD = 5;

/** A fenced code block as the markdown filter sees it (a line starting with ``` opens, the next one closes). */
interface FenceBlock {
  /** The opening fence line without its line break or trailing whitespace, e.g. "```ts". */
  readonly fenceLine: string;
  /** The backtick run of the opening line, used as the added closing fence. */
  readonly closer: string;
  /** Code points a reopened part spends on `fenceLine + '\n'`, and a closed part on `'\n' + closer`. */
  readonly prefixCost: number;
  readonly suffixCost: number;
  /** Whether a cut inside this block closes and reopens it (false when the fence lines would take over half the limit). */
  readonly decorated: boolean;
  readonly closed: boolean;
  // UTF-16 positions, mapped to unit indices once the units exist.
  readonly openStart16: number;
  readonly openEnd16: number;
  readonly contentStart16: number;
  readonly closeStart16: number;
  readonly closeEnd16: number;
}

/**
 * The text cut into units (grapheme clusters; a cluster longer than a part
 * could ever hold is broken into code points) with everything the cut search
 * reads, indexed by unit boundary `p` (0..n, boundary `p` lies before unit `p`).
 */
interface Layout {
  readonly n: number;
  /** UTF-16 offset of each boundary. */
  readonly at: Int32Array;
  /** Code points before each boundary. */
  readonly cp: Int32Array;
  readonly flags: Uint8Array;
  /** For a whitespace run starting at p: its newlines (capped at 2), whether it holds a breaking space, its end, and the boundary after its last newline (-1: none). */
  readonly runNewlines: Uint8Array;
  readonly runBreaks: Uint8Array;
  readonly runEnd: Int32Array;
  readonly runAfterLastNewline: Int32Array;
  /** Block whose code the boundary lies in (content start ..= closing line start), else -1. */
  readonly blockAt: Int32Array;
  /** 1 strictly inside a fence line: never cut there. */
  readonly inFenceLine: Uint8Array;
  readonly blocks: ReadonlyArray<FenceBlock & { contentStart: number; closeStart: number }>;
}

function codePointCount(s: string): number {
  if (s.length === 1) return 1;
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Fence lines exactly as filterMarkdown reads them: `text.split('\n')`, a line starting with ``` toggles. */
function findFenceBlocks(text: string, limit: number): FenceBlock[] {
  const blocks: FenceBlock[] = [];
  let open: { start: number; end: number; line: string } | undefined;
  let lineStart = 0;
  while (lineStart <= text.length) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline < 0 ? text.length : newline;
    if (text.startsWith('```', lineStart)) {
      if (open === undefined) {
        open = { start: lineStart, end: lineEnd, line: text.slice(lineStart, lineEnd).trimEnd() };
      } else {
        blocks.push(makeBlock(open, lineStart, lineEnd, true));
        open = undefined;
      }
    }
    if (newline < 0) break;
    lineStart = newline + 1;
  }
  // An unclosed fence runs to the end of the text, as in the filter.
  if (open !== undefined) blocks.push(makeBlock(open, text.length, text.length, false));
  return blocks;

  function makeBlock(
    opening: { start: number; end: number; line: string },
    closeStart16: number,
    closeEnd16: number,
    closed: boolean,
  ): FenceBlock {
    const closer = /^`+/.exec(opening.line)?.[0] ?? '```';
    const prefixCost = codePointCount(opening.line) + 1;
    const suffixCost = closer.length + 1;
    return {
      fenceLine: opening.line,
      closer,
      prefixCost,
      suffixCost,
      decorated: prefixCost + suffixCost <= Math.floor(limit / 2),
      closed,
      openStart16: opening.start,
      openEnd16: opening.end,
      contentStart16: Math.min(opening.end + 1, text.length),
      closeStart16,
      closeEnd16,
    };
  }
}

/** Flags of a single UTF-16 character: the common case, without a regex or a set lookup. */
function charFlags(c: number): number {
  if (c < 0x80) {
    if (c === 0x0a) return WS | BREAKING_WS | NEWLINE;
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return WS | BREAKING_WS;
    if (c === 0x2e || c === 0x21 || c === 0x3f) return LATIN_END; // . ! ?
    if (c === 0x22 || c === 0x27 || c === 0x29 || c === 0x5d || c === 0x7d) return CLOSER; // " ' ) ] }
    return 0;
  }
  return -1; // not decided here
}

function unitFlags(unit: string): number {
  if (unit.length === 1) {
    const flags = charFlags(unit.charCodeAt(0));
    if (flags >= 0) return flags;
  }
  if (ALL_WHITESPACE.test(unit)) {
    let flags = WS;
    if (!NO_BREAK_WHITESPACE.test(unit)) flags |= BREAKING_WS;
    if (unit.includes('\n')) flags |= NEWLINE;
    return flags;
  }
  if (LATIN_SENTENCE_END.has(unit)) return LATIN_END;
  if (CJK_SENTENCE_END.has(unit)) return CJK_END;
  if (CJK_CLAUSE_END.has(unit)) return CLAUSE_END;
  if (CLOSERS.has(unit)) return CLOSER;
  return 0;
}

function layOut(text: string, limit: number): Layout {
  const fenceBlocks = findFenceBlocks(text, limit);
  // Any unit must fit in a part next to the fence lines that part may carry,
  // so a cluster longer than that (never seen in real text at 4000) is broken
  // into code points rather than sent over the limit.
  let maxFenceCost = 0;
  for (const block of fenceBlocks) {
    if (block.decorated) maxFenceCost = Math.max(maxFenceCost, block.prefixCost + block.suffixCost);
  }
  const maxUnit = limit - maxFenceCost;

  // At most one unit per UTF-16 unit, so the arrays are sized once.
  const at16 = new Int32Array(text.length + 1);
  const cp = new Int32Array(text.length + 1);
  const flags = new Uint8Array(text.length + 1);
  let n = 0;
  const addUnit = (unit: string, offset: number, count: number): void => {
    at16[n] = offset;
    cp[n + 1] = cp[n] + count;
    flags[n] = unitFlags(unit);
    n++;
  };
  forEachGrapheme(text, (segment, index) => {
    const count = segment.length === 1 ? 1 : codePointCount(segment);
    if (count <= maxUnit) {
      addUnit(segment, index, count);
    } else {
      let offset = index;
      for (const codePoint of segment) {
        addUnit(codePoint, offset, 1);
        offset += codePoint.length;
      }
    }
  });
  at16[n] = text.length;

  const runNewlines = new Uint8Array(n + 1);
  const runBreaks = new Uint8Array(n + 1);
  const runEnd = new Int32Array(n + 1);
  const runAfterLastNewline = new Int32Array(n + 1);
  runEnd[n] = n;
  runAfterLastNewline[n] = -1;
  for (let p = n - 1; p >= 0; p--) {
    const f = flags[p];
    if ((f & WS) === 0) {
      runEnd[p] = p;
      runAfterLastNewline[p] = -1;
      continue;
    }
    const newline = (f & NEWLINE) !== 0;
    runNewlines[p] = Math.min(2, runNewlines[p + 1] + (newline ? 1 : 0));
    runBreaks[p] = (f & BREAKING_WS) !== 0 ? 1 : runBreaks[p + 1];
    runEnd[p] = runEnd[p + 1];
    runAfterLastNewline[p] = runAfterLastNewline[p + 1] >= 0 ? runAfterLastNewline[p + 1] : newline ? p + 1 : -1;
  }

  // Map the fence blocks onto unit boundaries (line starts and ends always are
  // boundaries: a cluster never spans a line break).
  const unitOf = (offset16: number): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (at16[mid] < offset16) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const blockAt = new Int32Array(n + 1).fill(-1);
  const inFenceLine = new Uint8Array(n + 1);
  const markFenceLine = (start: number, end: number): void => {
    for (let p = start + 1; p < end; p++) inFenceLine[p] = 1;
  };
  const blocks = fenceBlocks.map((block, id) => {
    const contentStart = unitOf(block.contentStart16);
    const closeStart = unitOf(block.closeStart16);
    for (let p = contentStart; p <= closeStart; p++) blockAt[p] = id;
    markFenceLine(unitOf(block.openStart16), unitOf(block.openEnd16));
    if (block.closed) markFenceLine(closeStart, unitOf(block.closeEnd16));
    return { ...block, contentStart, closeStart };
  });

  return { n, at: at16, cp, flags, runNewlines, runBreaks, runEnd, runAfterLastNewline, blockAt, inFenceLine, blocks };
}

/** Where the next part starts after a part ending at `end`: past whitespace-only lines (keeping the next line's indentation), or past the spaces of a mid-line cut. */
function nextStart(layout: Layout, end: number): number {
  if ((layout.flags[end] & WS) === 0) return end;
  const afterNewline = layout.runAfterLastNewline[end];
  return afterNewline >= 0 ? afterNewline : layout.runEnd[end];
}

/** Tier of a cut at boundary `q` (unit q-1 is not whitespace). */
function cutTier(layout: Layout, start: number, q: number): number {
  const { flags } = layout;
  const whitespaceAfter = (flags[q] & WS) !== 0;
  if (whitespaceAfter) {
    if (layout.runNewlines[q] >= 2) return PARAGRAPH;
    if (layout.runNewlines[q] === 1) return LINE;
  } else if ((flags[q] & PUNCTUATION) !== 0) {
    // Inside a run like "？！" or "……" or before a closing quote: the cut belongs after the run.
    return HARD;
  }
  let k = q - 1;
  for (let closers = 0; k > start && (flags[k] & CLOSER) !== 0 && closers < MAX_CLOSERS; closers++) k--;
  const f = flags[k];
  if ((f & CJK_END) !== 0 || ((f & LATIN_END) !== 0 && whitespaceAfter)) return SENTENCE;
  if ((f & CLAUSE_END) !== 0) return CLAUSE;
  if (whitespaceAfter && layout.runBreaks[q] === 1) return SPACE;
  return HARD;
}

interface Cut {
  /** The part ends at this boundary (its last unit is not whitespace). */
  readonly end: number;
  /** The next part starts here. */
  readonly next: number;
  /** Block closed at the end of this part and reopened at the start of the next, or -1. */
  readonly block: number;
}

/**
 * The best cut for a part starting at `start` (which starts with `prefixCost`
 * code points of reopened fence): the last boundary of the best tier in the
 * later half of the window, else the last boundary of all.
 */
function findCut(layout: Layout, start: number, prefixCost: number, limit: number): Cut | undefined {
  const { cp, flags, blockAt, inFenceLine, blocks } = layout;
  const window = limit - prefixCost;
  // Last boundary whose content fits the window (before any closing fence).
  let lo = start;
  let hi = layout.n;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (cp[mid] - cp[start] <= window) lo = mid;
    else hi = mid - 1;
  }
  let best: Cut | undefined;
  let bestTier = HARD + 1;
  let hard: Cut | undefined;
  for (let q = lo; q > start; q--) {
    if ((flags[q - 1] & WS) !== 0 || inFenceLine[q] === 1) continue;
    const content = cp[q] - cp[start];
    const laterHalf = 2 * content >= window;
    if (!laterHalf && hard !== undefined) break;
    const next = nextStart(layout, q);
    const id = blockAt[next];
    let block = -1;
    let suffixCost = 0;
    if (id >= 0) {
      const fence = blocks[id];
      // Never leave a block's opening line without code after it, nor its closing line without code before it.
      if (q < fence.contentStart || (fence.closed && next === fence.closeStart)) continue;
      if (fence.decorated) {
        block = id;
        suffixCost = fence.suffixCost;
      }
    }
    if (prefixCost + content + suffixCost > limit) continue;
    const cut = { end: q, next, block };
    hard ??= cut;
    if (!laterHalf) break;
    const tier = cutTier(layout, start, q);
    if (tier < bestTier) {
      best = cut;
      bestTier = tier;
      if (tier === PARAGRAPH) break;
    }
  }
  return bestTier < HARD ? best : hard;
}

/**
 * Splits text into parts of at most `limit` Unicode code points each (§6
 * "Text length": the server takes one text per sendmessage).
 *
 * - Cuts fall only between grapheme clusters (`Intl.Segmenter`), so 👨‍👩‍👧‍👦,
 *   🇨🇳 or 👍🏽 are never broken. The one exception: a single cluster longer
 *   than a part can hold is broken between code points (never inside a
 *   surrogate pair).
 * - Among the cut points whose part fills at least half the window, the last
 *   one of the best kind wins: a paragraph end (a blank line), a line end, a
 *   sentence end (。！？｡ anywhere, `.` `!` `?` before whitespace; closing
 *   quotes and brackets after them stay in the part), a clause end (；…), a
 *   space (not a no-break space). When the later half of the window has none
 *   of these, the part ends at the last cluster boundary that fits.
 * - A fenced code block (``` lines, read as the markdown filter reads them) cut
 *   between two parts is closed at the end of the first with its backtick run
 *   and reopened at the start of the next with its fence line (info string
 *   included); those lines count towards the limit. No cut leaves an opening
 *   fence line without code after it or a closing one without code before it,
 *   and no cut falls inside a fence line. Blocks whose fence lines would take
 *   over half the limit are split as plain text.
 * - The whitespace at a cut is dropped: a part ends at its last non-whitespace
 *   character, and the next one starts after any whitespace-only lines (the
 *   indentation of its first line is kept) or, after a mid-line cut, after
 *   the spaces. The same trimming applies at the ends of the text. Nothing else
 *   is dropped, and no part is empty or whitespace only.
 */
export function splitText(text: string, limit: number = TEXT_CHUNK_LIMIT): string[] {
  return [...cutParts(text, limit)].map((cut) => cut.part);
}

/**
 * The first part of `text` as splitText cuts it at `limit`, and the text that
 * follows it: what the next parts are cut from (a code block cut in two is
 * reopened at its start). `rest` is '' when the first part holds everything.
 * Lets a sender send what fits now and keep the rest as text, to be cut again
 * later (possibly at another limit).
 */
export function splitFirst(text: string, limit: number = TEXT_CHUNK_LIMIT): { first: string; rest: string } {
  for (const cut of cutParts(text, limit)) {
    const rest = cut.rest();
    return { first: cut.part, rest: HAS_NON_WHITESPACE.test(rest) ? rest : '' };
  }
  return { first: '', rest: '' };
}

interface CutPart {
  part: string;
  /** The text after this part, as the next parts are cut from it. */
  rest(): string;
}

function* cutParts(text: string, limit: number): Generator<CutPart> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError(`the text chunk limit must be a whole number of at least 1, got ${String(limit)}`);
  }
  if (!HAS_NON_WHITESPACE.test(text)) return;
  if (text.length <= limit) {
    // Fits in one part (UTF-16 length ≥ code points): only the ends are trimmed.
    yield { part: text.replace(/^\s*\n/u, '').trimEnd(), rest: () => '' };
    return;
  }

  const layout = layOut(text, limit);
  const { at, cp, flags, blocks } = layout;
  let end = layout.n;
  while (end > 0 && (flags[end - 1] & WS) !== 0) end--;
  let start = (flags[0] & WS) !== 0 && layout.runAfterLastNewline[0] >= 0 ? layout.runAfterLastNewline[0] : 0;
  let reopened = -1;
  const part = (from: number, to: number, closing: number): string => {
    let value = text.slice(at[from], at[to]);
    if (reopened >= 0) value = `${blocks[reopened].fenceLine}\n${value}`;
    if (closing >= 0) value = `${value}\n${blocks[closing].closer}`;
    return value;
  };

  while (start < end) {
    const prefixCost = reopened >= 0 ? blocks[reopened].prefixCost : 0;
    if (prefixCost + cp[end] - cp[start] <= limit) {
      yield { part: part(start, end, -1), rest: () => '' };
      return;
    }
    let cut = findCut(layout, start, prefixCost, limit);
    if (cut === undefined && (flags[start] & WS) !== 0) {
      // Indentation so long that nothing after it fits: drop it.
      start = layout.runEnd[start];
      continue;
    }
    // Last resort (a lone unit at the start that fits no other way): cut after it, as plain text.
    cut ??= { end: start + 1, next: nextStart(layout, start + 1), block: -1 };
    const { next, block } = cut;
    yield { part: part(start, cut.end, block), rest: () => (block >= 0 ? `${blocks[block].fenceLine}\n` : '') + text.slice(at[next]) };
    start = next;
    reopened = block;
  }
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
  return splitText(filterOutboundText(text, options), options.limit ?? TEXT_CHUNK_LIMIT);
}

/** The filter step of prepareOutboundText alone: the text checked and filtered, not yet split. */
export function filterOutboundText(text: string, options: Pick<PrepareTextOptions, 'markdown'> = {}): string {
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
  return filtered;
}
