import fc from 'fast-check';
import { filterMarkdown, prepareOutboundText, splitText, TEXT_CHUNK_LIMIT } from '../../shared/text';
import { ValidationError } from '../../shared/errors';

const codePointLength = (s: string): number => Array.from(s).length;
/** True when the string has no lone surrogate (a split surrogate pair would leave one). */
const isWellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
const FAMILY = '👨‍👩‍👧‍👦';

/** UTF-16 offsets of the grapheme boundaries of the whole text: the oracle for "never inside a cluster". */
function graphemeBoundaries(text: string): Set<number> {
  // A boundary always follows '\n' (UAX #29 GB4), so segmenting line by line is exact
  // (and keeps this oracle fast on Node 20, whose segmenter is quadratic in the length).
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const boundaries = new Set<number>([text.length]);
  let lineStart = 0;
  while (lineStart < text.length) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline < 0 ? text.length : newline + 1;
    for (const { index } of segmenter.segment(text.slice(lineStart, lineEnd))) boundaries.add(lineStart + index);
    lineStart = lineEnd;
  }
  return boundaries;
}

/** Lines starting with ``` in a part. */
const fenceLineCount = (part: string): number => part.split('\n').filter((line) => line.startsWith('```')).length;

/**
 * The fence line of the code block open at `offset`, reading complete lines
 * before it as the markdown filter does (a line starting with ``` toggles).
 */
function openFenceAt(text: string, offset: number): string | undefined {
  let open: string | undefined;
  let lineStart = 0;
  for (;;) {
    const newline = text.indexOf('\n', lineStart);
    if (newline < 0 || newline >= offset) return open;
    const line = text.slice(lineStart, newline);
    if (line.startsWith('```')) open = open === undefined ? line.trimEnd() : undefined;
    lineStart = newline + 1;
  }
}

interface PlacedPart {
  /** Where the part's own text (without added fence lines) starts and ends in the original. */
  start: number;
  end: number;
  /** The fence line added at the start of the part, and the closing fence added at its end. */
  reopened?: string;
  closed?: string;
}

/**
 * Undoes the splitter: finds each part's text in the original, in order,
 * with only whitespace between parts (and before the first and after the
 * last), after removing the fence lines a cut added. A part ends with an added
 * closing fence exactly when the next starts with an added fence line, and
 * both must match the block open in the original at that cut. Fails the test
 * when the parts cannot be placed.
 */
function reassemble(text: string, parts: string[]): PlacedPart[] {
  const placed: PlacedPart[] = [];
  const whitespaceRun = /\s*/uy;
  const place = (i: number, pos: number, reopen: boolean): boolean => {
    if (i === parts.length) return !/\S/u.test(text.slice(pos));
    let body = parts[i];
    let reopened: string | undefined;
    if (reopen) {
      const newline = body.indexOf('\n');
      if (newline < 0 || !body.startsWith('```')) return false;
      reopened = body.slice(0, newline);
      body = body.slice(newline + 1);
    }
    const closer = i < parts.length - 1 ? /\n(`{3,})$/.exec(body) : null;
    const options: Array<[string, string | undefined]> = [[body, undefined]];
    if (closer) options.push([body.slice(0, closer.index), closer[1]]);
    for (const [own, closed] of options) {
      if (!/\S/u.test(own)) continue;
      whitespaceRun.lastIndex = pos;
      whitespaceRun.test(text);
      const start = whitespaceRun.lastIndex - (/^\s*/u.exec(own)?.[0].length ?? 0);
      if (start < pos || !text.startsWith(own, start)) continue;
      const end = start + own.length;
      if (reopened !== undefined && openFenceAt(text, start) !== reopened) continue;
      if (closed !== undefined && /^`+/.exec(openFenceAt(text, end) ?? '')?.[0] !== closed) continue;
      placed[i] = { start, end, reopened, closed };
      if (place(i + 1, end, closed !== undefined)) return true;
    }
    return false;
  };
  expect(place(0, 0, false)).toBe(true);
  return placed.slice(0, parts.length);
}

describe('filterMarkdown §6: passed through unchanged', () => {
  test('fenced code block is copied verbatim, including markers that would change outside it', () => {
    const text = 'before *中文*\n```js\n##### h5\n*中文* ![i](u)\n```\nafter *中文*';
    expect(filterMarkdown(text)).toBe('before 中文\n```js\n##### h5\n*中文* ![i](u)\n```\nafter 中文');
  });

  test('an unclosed fence keeps the rest of the text verbatim', () => {
    expect(filterMarkdown('```\n*中文*\n##### x')).toBe('```\n*中文*\n##### x');
  });

  test('a fence must start the line: an indented ``` does not open a fence', () => {
    expect(filterMarkdown('  ```\n*中文*\n  ```')).toBe('  ```\n中文\n  ```');
  });

  test('**bold** and __bold__ are kept, with CJK or not', () => {
    expect(filterMarkdown('**bold** __bold__')).toBe('**bold** __bold__');
    expect(filterMarkdown('**中文** __中文__')).toBe('**中文** __中文__');
  });

  test('tables are kept', () => {
    const table = '| a | b |\n|---|---|\n| 1 | 2 |';
    expect(filterMarkdown(table)).toBe(table);
  });

  test('blockquote lines are kept', () => {
    expect(filterMarkdown('> quoted\n>> nested')).toBe('> quoted\n>> nested');
  });

  test('headings H1–H4 keep their markers', () => {
    const text = '# one\n## two\n### three\n#### four';
    expect(filterMarkdown(text)).toBe(text);
  });

  test('runs of seven or more hashes are kept', () => {
    expect(filterMarkdown('####### seven\n######## eight')).toBe('####### seven\n######## eight');
  });

  test('horizontal rules of -, * and _ are kept, with optional spaces', () => {
    const text = '---\n***\n___\n* * *\n_ _ _\n- - - -';
    expect(filterMarkdown(text)).toBe(text);
  });

  test('~~strike~~ is kept', () => {
    expect(filterMarkdown('~~gone~~ ~~中文~~')).toBe('~~gone~~ ~~中文~~');
  });

  test('links are kept', () => {
    expect(filterMarkdown('see [docs](https://example.com/a) and [中文](https://x.cn)')).toBe(
      'see [docs](https://example.com/a) and [中文](https://x.cn)',
    );
  });

  test('list markers and indentation are kept', () => {
    const text = '- one\n* two\n+ three\n1. four\n    indented\n\tTabbed';
    expect(filterMarkdown(text)).toBe(text);
  });
});

describe('filterMarkdown §6: changed', () => {
  test('H5 and H6 lose "hashes plus one space" and keep the text', () => {
    expect(filterMarkdown('##### five\n###### six')).toBe('five\nsix');
  });

  test('H5 marker only at the start of a line, and only with a space after it', () => {
    expect(filterMarkdown('text ##### not a heading')).toBe('text ##### not a heading');
    expect(filterMarkdown('#####no space')).toBe('#####no space');
    expect(filterMarkdown(' ##### indented')).toBe(' ##### indented');
  });

  test('H5 loses exactly one space: extra spaces stay', () => {
    expect(filterMarkdown('#####  two spaces')).toBe(' two spaces');
  });

  test('H5 text still goes through the inline rules', () => {
    expect(filterMarkdown('##### *标题*')).toBe('标题');
  });

  test('images ![alt](url) are removed entirely', () => {
    expect(filterMarkdown('a ![logo](https://x/y.png) b')).toBe('a  b');
    expect(filterMarkdown('![](u)')).toBe('');
    expect(filterMarkdown('![中文](u "title")end')).toBe('end');
  });

  test('![alt] without a following ( is kept', () => {
    expect(filterMarkdown('![alt] and ![alt] (u)')).toBe('![alt] and ![alt] (u)');
  });

  test('a plain link is not mistaken for an image', () => {
    expect(filterMarkdown('![a](u) [b](v)')).toBe(' [b](v)');
  });

  test('italic *x* loses its markers when the inner text has CJK', () => {
    expect(filterMarkdown('这是*重点*内容')).toBe('这是重点内容');
  });

  test('italic _x_ loses its markers when the inner text has CJK', () => {
    expect(filterMarkdown('这是_重点_内容')).toBe('这是重点内容');
  });

  test('italic without CJK keeps its markers', () => {
    expect(filterMarkdown('an *important* and _subtle_ point')).toBe('an *important* and _subtle_ point');
  });

  test('bold-italic ***x*** and ___x___ with CJK lose all markers', () => {
    expect(filterMarkdown('***中文***')).toBe('中文');
    expect(filterMarkdown('___中文___')).toBe('中文');
  });

  test('bold-italic without CJK is kept', () => {
    expect(filterMarkdown('***loud*** ___loud___')).toBe('***loud*** ___loud___');
  });

  test('mixed inner text counts as CJK when any character is CJK', () => {
    expect(filterMarkdown('*hello 世界*')).toBe('hello 世界');
  });

  test.each([
    ['U+2E80 (first of the range)', '\u2E80'],
    ['U+9FFF (last of the range)', '\u9FFF'],
    ['hiragana', 'ひらがな'],
    ['Hangul U+AC00', '\uAC00'],
    ['Hangul U+D7AF', '\uD7AF'],
    ['compatibility ideograph U+F900', '\uF900'],
    ['compatibility ideograph U+FAFF', '\uFAFF'],
  ])('CJK range boundary %s strips the markers', (_name, cjk) => {
    expect(filterMarkdown(`*${cjk}*`)).toBe(cjk);
  });

  test.each([
    ['U+2E7F (just below)', '\u2E7F'],
    ['U+A000 (just above)', '\uA000'],
    ['U+D7B0 (just above Hangul)', '\uD7B0'],
    ['U+FB00 (just above)', '\uFB00'],
    ['fullwidth comma U+FF0C', '\uFF0C'],
    ['emoji', '😀'],
  ])('non-CJK character %s keeps the markers', (_name, other) => {
    expect(filterMarkdown(`*${other}*`)).toBe(`*${other}*`);
  });
});

describe('filterMarkdown §6: italic parsing details', () => {
  test('an opener followed by a space is not an opener', () => {
    expect(filterMarkdown('* 中文*')).toBe('* 中文*');
    expect(filterMarkdown('_ 中文_')).toBe('_ 中文_');
  });

  test('an opener at the end of a line is not an opener', () => {
    expect(filterMarkdown('中文*\n中文*')).toBe('中文*\n中文*');
  });

  test('an italic span left unclosed at a newline is emitted literally', () => {
    expect(filterMarkdown('*中文\n中文*')).toBe('*中文\n中文*');
  });

  test('an italic span left unclosed at the end of the text is emitted literally', () => {
    expect(filterMarkdown('前 *中文')).toBe('前 *中文');
  });

  test('after an unclosed opener, later spans on the line are still filtered', () => {
    expect(filterMarkdown('*a _中文_')).toBe('*a 中文');
  });

  test('inline code is not protected', () => {
    expect(filterMarkdown('`*中文*`')).toBe('`中文`');
    expect(filterMarkdown('`*code*`')).toBe('`*code*`');
  });
});

describe('filterMarkdown §6: interactions', () => {
  test('**bold** is not read as italic', () => {
    expect(filterMarkdown('**bold**')).toBe('**bold**');
    expect(filterMarkdown('**中文**')).toBe('**中文**');
  });

  test('English snake_case_names are kept', () => {
    expect(filterMarkdown('call get_user_name and __init__ or snake_case_names')).toBe(
      'call get_user_name and __init__ or snake_case_names',
    );
  });

  test('***中文*** becomes 中文 while **中文** is kept', () => {
    expect(filterMarkdown('***中文*** **中文**')).toBe('中文 **中文**');
  });

  test('bold inside a CJK italic span survives while the italic markers go', () => {
    expect(filterMarkdown('*看 **这里** 吧*')).toBe('看 **这里** 吧');
  });

  test('italic inside bold is filtered, the bold stays', () => {
    expect(filterMarkdown('**_中文_**')).toBe('**中文**');
  });

  test('nested spans of the other marker inside a CJK span are filtered too', () => {
    expect(filterMarkdown('*中文 _日本_*')).toBe('中文 日本');
  });

  test('* and _ do not close each other', () => {
    expect(filterMarkdown('*中文_')).toBe('*中文_');
  });

  test('a list item with a CJK italic keeps its marker and loses the italic', () => {
    expect(filterMarkdown('* *重要* item\n- _注意_')).toBe('* 重要 item\n- 注意');
  });

  test('runs of four or more markers are literal', () => {
    expect(filterMarkdown('****中文****')).toBe('****中文****');
  });

  test('a closing run must have the opener\'s length', () => {
    expect(filterMarkdown('***中文*')).toBe('***中文*');
    expect(filterMarkdown('*中文**')).toBe('*中文**');
  });

  test('an image inside a CJK line is removed and the italic is stripped', () => {
    expect(filterMarkdown('*中文* ![图](u.png) 完')).toBe('中文  完');
  });

  test('image alt text does not decide an italic span', () => {
    expect(filterMarkdown('*a ![中文](u) b*')).toBe('*a  b*');
  });

  test('blockquote and table lines still get the inline rules', () => {
    expect(filterMarkdown('> *引用*\n| *表* | x |')).toBe('> 引用\n| 表 | x |');
  });

  test('horizontal rule between CJK italics is untouched', () => {
    expect(filterMarkdown('*上*\n***\n*下*')).toBe('上\n***\n下');
  });

  test('empty text stays empty', () => {
    expect(filterMarkdown('')).toBe('');
  });

  test('CRLF lines are handled like LF lines', () => {
    expect(filterMarkdown('*中文*\r\n##### h\r\n')).toBe('中文\r\nh\r\n');
  });

  test('plain text without markdown is returned unchanged (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abc 中文\n.,?()[]'.split('')), maxLength: 200 }), (s) => {
        expect(filterMarkdown(s)).toBe(s);
      }),
      { seed: 4242, numRuns: 500 },
    );
  });

  test('the filter only ever removes characters (property)', () => {
    // Every output character comes from the input in order: the filter deletes, never inserts.
    const isSubsequence = (small: string, big: string): boolean => {
      let j = 0;
      for (let i = 0; i < big.length && j < small.length; i++) if (big[i] === small[j]) j++;
      return j === small.length;
    };
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'a中 *_#!()[]`>-\n'.split('')), maxLength: 120 }), (s) => {
        const out = filterMarkdown(s);
        expect(isSubsequence(out, s)).toBe(true);
      }),
      { seed: 77, numRuns: 2000 },
    );
  });
});

describe('splitText §6', () => {
  test('TEXT_CHUNK_LIMIT is 4000', () => {
    expect(TEXT_CHUNK_LIMIT).toBe(4000);
  });

  test('text at exactly the limit is one chunk', () => {
    const text = 'x'.repeat(4000);
    expect(splitText(text)).toEqual([text]);
  });

  test('one character over the limit is cut hard when there is no whitespace', () => {
    const text = 'x'.repeat(4001);
    expect(splitText(text)).toEqual(['x'.repeat(4000), 'x']);
  });

  test('short text is one part; only whitespace-only lines before it and whitespace after it go', () => {
    expect(splitText('  hi  \n')).toEqual(['  hi']);
    expect(splitText('\n \n  hi\n\n')).toEqual(['  hi']);
    expect(splitText('a\n\n b')).toEqual(['a\n\n b']);
  });

  test('prefers the last newline in the window over later spaces', () => {
    expect(splitText('aa bb\ncc dd ee', 10)).toEqual(['aa bb', 'cc dd ee']);
  });

  test('prefers the last of several newlines', () => {
    expect(splitText('a\nb\nc d\nefghijkl', 8)).toEqual(['a\nb\nc d', 'efghijkl']);
  });

  test('a newline right after a full window cuts there', () => {
    expect(splitText('abcd\nefgh', 4)).toEqual(['abcd', 'efgh']);
  });

  test('falls back to the last whitespace when the window has no newline', () => {
    expect(splitText('one two three four', 10)).toEqual(['one two', 'three four']);
  });

  test('cuts hard when the window has no whitespace', () => {
    expect(splitText('abcdefghij klm', 4)).toEqual(['abcd', 'efgh', 'ij', 'klm']);
  });

  test('long text without any boundary is cut at the limit', () => {
    expect(splitText('a'.repeat(10000)).map(codePointLength)).toEqual([4000, 4000, 2000]);
  });

  test('never splits a surrogate pair; the limit counts code points', () => {
    const text = '😀'.repeat(5);
    const chunks = splitText(text, 2);
    expect(chunks).toEqual(['😀😀', '😀😀', '😀']);
    expect(chunks.every(isWellFormed)).toBe(true);
  });

  test('an emoji straddling the UTF-16 boundary stays whole', () => {
    // 3 ASCII + emoji: the emoji's second unit would be at UTF-16 index 4.
    expect(splitText('abc😀def', 4)).toEqual(['abc😀', 'def']);
  });

  test('CJK text without spaces is cut at the code point limit', () => {
    const text = '中'.repeat(4001);
    const chunks = splitText(text);
    expect(chunks.map(codePointLength)).toEqual([4000, 1]);
  });

  test('CJK text is cut at the ideographic space (whitespace)', () => {
    expect(splitText('中文中文\u3000日本', 5)).toEqual(['中文中文', '日本']);
  });

  test('no empty or whitespace-only chunks', () => {
    expect(splitText('abc\n\n\n\n\ndef', 3)).toEqual(['abc', 'def']);
    expect(splitText('')).toEqual([]);
    expect(splitText('   \n  ')).toEqual([]);
    expect(splitText(' \n'.repeat(3000))).toEqual([]);
  });

  test('rejects a limit below 1 or not a whole number', () => {
    expect(() => splitText('abc', 0)).toThrow(ValidationError);
    expect(() => splitText('abc', 2.5)).toThrow(ValidationError);
    expect(() => splitText('abc', Number.NaN)).toThrow(ValidationError);
  });
});

describe('splitText §6: grapheme clusters', () => {
  test.each([
    ['family (ZWJ sequence, 7 code points)', FAMILY],
    ['flag 🇨🇳 (two regional indicators)', '🇨🇳'],
    ['thumbs up with skin tone', '👍🏽'],
    ['keycap 1️⃣', '1\uFE0F\u20E3'],
    ['e with a combining acute', 'e\u0301'],
    ['Hangul syllable from jamo', '\u1100\u1161\u11A8'],
  ])('%s at the 4000 cut stays whole in the next part', (_name, cluster) => {
    // The cluster starts at code point 3999, so the limit falls inside it.
    const text = `${'x'.repeat(3999)}${cluster}tail`;
    expect(splitText(text)).toEqual(['x'.repeat(3999), `${cluster}tail`]);
  });

  test('a family emoji over a small limit moves to the next part', () => {
    expect(splitText(`${'x'.repeat(8)}${FAMILY}y`, 10)).toEqual(['xxxxxxxx', `${FAMILY}y`]);
  });

  test('a long run of flags at limit 3 gives one whole flag per part', () => {
    // Three code points hold one flag, never one and a half: every boundary is a cut,
    // across many segmenter slices.
    const flags = ['🇨🇳', '🇺🇸', '🇯🇵', '🇩🇪'];
    const text = flags.join('').repeat(300);
    expect(splitText(text, 3)).toEqual(Array.from({ length: 1200 }, (_, i) => flags[i % 4]));
  });

  test('a long run of family emoji at limit 11 gives one family per part', () => {
    const text = `${FAMILY}${'👩‍👩‍👧'}`.repeat(200);
    const parts = splitText(text, 11);
    expect(parts).toEqual(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? FAMILY : '👩‍👩‍👧')));
  });

  test.each(Array.from({ length: 11 }, (_, i) => i))(
    'clusters stay whole wherever the segmenter slices fall (%i characters before them)',
    (shift) => {
      // A family is 11 UTF-16 units, a flag 4: the shifts put every offset inside them at a slice end.
      const families = `${'x'.repeat(shift)}${FAMILY.repeat(60)}`;
      const familyParts = splitText(families, 9);
      expect(familyParts.join('')).toBe(families);
      for (const part of familyParts) expect(part).toMatch(/^x*(?:👨‍👩‍👧‍👦)*$/u);
      const flags = `${'x'.repeat(shift)}${'🇨🇳🇺🇸'.repeat(150)}`;
      const flagParts = splitText(flags, 3);
      expect(flagParts.join('')).toBe(flags);
      for (const part of flagParts) expect(part).toMatch(/^x*(?:🇨🇳|🇺🇸)?$/u);
    },
  );

  test('a cluster longer than the limit is the one thing cut between code points', () => {
    const zalgo = `e${'\u0301'.repeat(10)}`;
    const parts = splitText(zalgo, 4);
    expect(parts.join('')).toBe(zalgo);
    expect(parts.map(codePointLength)).toEqual([4, 4, 3]);
  });
});

describe('splitText §6: preferred cut points', () => {
  test('a paragraph end is preferred over a later line end', () => {
    expect(splitText('aaaa bbbb.\n\ncccc\ndddd eeee', 20)).toEqual(['aaaa bbbb.', 'cccc\ndddd eeee']);
  });

  test('a blank line holding spaces is a paragraph end too', () => {
    expect(splitText('aaaa bbbb.\n  \t\ncccc\ndddd eeee', 20)).toEqual(['aaaa bbbb.', 'cccc\ndddd eeee']);
  });

  test('a line end is preferred over a later sentence end and space', () => {
    expect(splitText('aaaaaa bbbb\ncccc. dd eeeeeeeeeee', 20)).toEqual(['aaaaaa bbbb', 'cccc. dd eeeeeeeeeee']);
  });

  test('a Latin sentence end (. ! ?) is preferred over a later space', () => {
    expect(splitText('one two three. four five six seven', 20)).toEqual(['one two three.', 'four five six seven']);
    expect(splitText('Really? Yes! And more', 16)).toEqual(['Really? Yes!', 'And more']);
    expect(splitText('Is that so? Sure it is here', 16)).toEqual(['Is that so?', 'Sure it is here']);
  });

  test.each(['。', '！', '？'])('a Chinese sentence end %s needs no space after it', (end) => {
    expect(splitText(`甲乙丙丁${end}戊己庚辛壬癸子丑`, 8)).toEqual([`甲乙丙丁${end}`, '戊己庚辛壬癸子丑']);
  });

  test('the last Chinese sentence end in the window wins', () => {
    expect(splitText('第一句话。第二句话！第三句话？第四句话', 12)).toEqual(['第一句话。第二句话！', '第三句话？第四句话']);
  });

  test('a Latin full stop without whitespace after it (3.14, a.b) is not a sentence end', () => {
    expect(splitText('pi is 3.14159 ok yes', 15)).toEqual(['pi is 3.14159', 'ok yes']);
  });

  test('closing quotes and brackets stay with their sentence', () => {
    expect(splitText('他说：“你好。”她走了很远很远', 10)).toEqual(['他说：“你好。”', '她走了很远很远']);
    expect(splitText('She said "stop." Then left town', 20)).toEqual(['She said "stop."', 'Then left town']);
  });

  test('a clause end (；…) is used when there is no sentence end, and ranks below one', () => {
    expect(splitText('甲乙丙丁戊；己庚辛壬癸子丑寅', 10)).toEqual(['甲乙丙丁戊；', '己庚辛壬癸子丑寅']);
    expect(splitText('甲乙丙丁戊。己庚；辛壬癸子', 10)).toEqual(['甲乙丙丁戊。', '己庚；辛壬癸子']);
  });

  test('a run of sentence marks (……, ？！) is not cut inside', () => {
    expect(splitText('甲乙丙丁戊己……庚辛壬', 8)).toEqual(['甲乙丙丁戊己……', '庚辛壬']);
    expect(splitText('甲乙丙丁戊己？！庚辛壬', 8)).toEqual(['甲乙丙丁戊己？！', '庚辛壬']);
  });

  test('a space is preferred over a hard cut, a sentence end over a space', () => {
    expect(splitText('word word word wordword', 20)).toEqual(['word word word', 'wordword']);
    expect(splitText('word. word word wordword', 20)).toEqual(['word. word word', 'wordword']);
  });

  test('a no-break space is not a cut point', () => {
    expect(splitText('aaaa bbbbbb\u00A0ccccccccc', 16)).toEqual(['aaaa bbbbbb\u00A0cccc', 'ccccc']);
  });

  test('a boundary in the first half of the window is passed over for a lesser one in the later half', () => {
    expect(splitText('ab\n\ncdefgh ijklmnopqrst', 20)).toEqual(['ab\n\ncdefgh', 'ijklmnopqrst']);
  });

  test('with boundaries only in the first half of the window, the cut is hard at the limit', () => {
    expect(splitText('abc defghijklmnopqrstuvwxyz', 20)).toEqual(['abc defghijklmnopqrs', 'tuvwxyz']);
  });

  test('realistic prose at 4000: parts end at paragraph ends', () => {
    const paragraph = `${'这是一个句子，它有一些内容。'.repeat(20)}\n${'An English line follows here. '.repeat(5).trimEnd()}`;
    const text = Array.from({ length: 20 }, () => paragraph).join('\n\n');
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(codePointLength(part)).toBeLessThanOrEqual(4000);
      expect(part.endsWith('here.')).toBe(true);
    }
    expect(parts.join('\n\n')).toBe(text);
  });
});

describe('splitText §6: whitespace at cuts', () => {
  test('no part ends in a newline or whitespace-only lines', () => {
    const parts = splitText('aaaa  \n \n\t\nbbbb \n\n', 6);
    expect(parts).toEqual(['aaaa', 'bbbb']);
  });

  test('after a line cut the next line keeps its indentation', () => {
    expect(splitText('aaaa  \n \n  bbbb', 6)).toEqual(['aaaa', '  bbbb']);
  });

  test('after a mid-line cut the spaces go', () => {
    expect(splitText('aaaa    bbbb', 6)).toEqual(['aaaa', 'bbbb']);
  });

  test('CRLF line ends are cut whole', () => {
    expect(splitText('line one\r\nline two\r\nline three', 12)).toEqual(['line one', 'line two', 'line three']);
  });

  test('indentation longer than the limit is dropped rather than sent alone', () => {
    expect(splitText(`a\n${' '.repeat(10)}bcd`, 5)).toEqual(['a', 'bcd']);
  });
});

describe('splitText §6: fenced code blocks', () => {
  test('a block cut between parts is closed and reopened with its info string', () => {
    const text = 'intro\n```ts\nconst a = 1;\nconst b = 2;\nconst c = 3;\n```\nafter';
    expect(splitText(text, 30)).toEqual([
      'intro\n```ts\nconst a = 1;\n```',
      '```ts\nconst b = 2;\n```',
      '```ts\nconst c = 3;\n```\nafter',
    ]);
  });

  test('the added fence lines count towards the limit', () => {
    const code = Array.from({ length: 400 }, (_, i) => `  line(${i}); // ${'x'.repeat(i % 30)}`).join('\n');
    const text = `${'Before the code. '.repeat(150)}\n\n\`\`\`typescript\n${code}\n\`\`\`\n\nAfter the code.`;
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(3);
    parts.forEach((part, i) => {
      expect(codePointLength(part)).toBeLessThanOrEqual(4000);
      expect(fenceLineCount(part) % 2).toBe(0);
      if (i > 1) expect(part.startsWith('```typescript\n  line(')).toBe(true);
      if (i > 0 && i < parts.length - 1) expect(part.endsWith('\n```')).toBe(true);
    });
    // The prose ends at the paragraph break before the block.
    expect(parts[0]).toBe('Before the code. '.repeat(150).trimEnd());
    expect(reassemble(text, parts).every((cut) => cut.reopened === undefined || cut.reopened === '```typescript')).toBe(true);
  });

  test('the opening fence line is never left without code after it', () => {
    expect(splitText(`aaaaaaaaaa\n\`\`\`ts\n${'b'.repeat(20)}`, 20)).toEqual([
      'aaaaaaaaaa',
      '```ts\nbbbbbbbbbb\n```',
      // The text's own fence is unclosed, so its last part stays unclosed.
      '```ts\nbbbbbbbbbb',
    ]);
  });

  test('the closing fence line is never left without code before it', () => {
    expect(splitText('Text before.\n```\nline1\nline2\n```\nAfter.', 30)).toEqual([
      'Text before.\n```\nline1\n```',
      '```\nline2\n```\nAfter.',
    ]);
    // The blank line before the closing fence would be the best cut, and it fits with an added fence.
    expect(splitText('Text before.\n```\nline1\nline2\n\n```\nAfter.', 32)).toEqual([
      'Text before.\n```\nline1\n```',
      '```\nline2\n\n```\nAfter.',
    ]);
  });

  test('a fence line is never cut inside', () => {
    // The limit falls inside the closing fence line, and the line end before it
    // would leave that line without code: the cut goes back into the code.
    expect(splitText(`\`\`\`\n${'c'.repeat(22)}\n\`\`\`\nafter`, 29)).toEqual([
      `\`\`\`\n${'c'.repeat(21)}\n\`\`\``,
      '```\nc\n```\nafter',
    ]);
  });

  test('a four-backtick fence is closed with four backticks', () => {
    const parts = splitText(`\`\`\`\`md\n${'word '.repeat(10)}\n\`\`\`\``, 30);
    expect(parts[0].endsWith('\n````')).toBe(true);
    expect(parts[1].startsWith('````md\n')).toBe(true);
  });

  test('a block whose fence lines would take over half the limit is split as plain text', () => {
    const text = `\`\`\`abcdefghij\n${'c'.repeat(30)}`;
    const parts = splitText(text, 20);
    expect(parts).toEqual(['```abcdefghij\ncccccc', 'c'.repeat(20), 'cccc']);
  });

  test('text outside a block is never fenced', () => {
    expect(splitText('```\ncode\n```\nplain words here and more words here', 20)).toEqual([
      '```\ncode\n```',
      'plain words here and',
      'more words here',
    ]);
  });
});

describe('splitText §6: properties', () => {
  const unit = fc.constantFrom(
    'a', 'b', 'Z', 'word', '中', '文', '。', '！', '？', '.', '!', '?', '；', '…', '”', '"',
    ' ', ' ', '  ', '\t', '\u3000', '\u00A0', '\n', '\n', '\n\n', '\r\n', '\n  ',
    '😀', '👍🏽', FAMILY, '👩‍👩‍👧', '🇨🇳', '🇺🇸', 'e\u0301', '1\uFE0F\u20E3',
    // Fence lines come whole: at limit 24 even ````md is closed and reopened (7 + 5 ≤ 12).
    '\n```\n', '\n```ts\n', '\n````md\n',
  );

  test('parts fit, are trimmed, cut only between clusters, and give back the text (property, seeded)', () => {
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 400 }), fc.integer({ min: 24, max: 160 }), (units, limit) => {
        const text = units.join('');
        const parts = splitText(text, limit);
        const boundaries = graphemeBoundaries(text);
        for (const part of parts) {
          expect(codePointLength(part)).toBeLessThanOrEqual(limit);
          expect(part).toBe(part.trimEnd());
          expect(/^\s*\n/.test(part)).toBe(false);
          expect(/\S/.test(part)).toBe(true);
        }
        const cuts = reassemble(text, parts);
        for (const cut of cuts) {
          expect(boundaries.has(cut.start)).toBe(true);
          expect(boundaries.has(cut.end)).toBe(true);
          // Every cut inside a block closed and reopened it.
          if (cut.reopened === undefined) expect(openFenceAt(text, cut.start)).toBeUndefined();
        }
        // Every part but the last renders its code as code: its fences are balanced.
        parts.slice(0, -1).forEach((part) => expect(fenceLineCount(part) % 2).toBe(0));
      }),
      { seed: 20250611, numRuns: 1500 },
    );
  });

  test('content is preserved and every chunk fits, also for tiny limits and odd strings (property, seeded)', () => {
    const anyUnit = fc.oneof(
      fc.constantFrom('a', 'b', 'Z', '中', '文', '😀', '👍🏽', ' ', ' ', '\n', '\t', '\u3000', '.'),
      fc.string({ minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(fc.array(anyUnit, { maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (units, limit) => {
        const text = units.join('');
        const chunks = splitText(text, limit);
        for (const chunk of chunks) {
          expect(codePointLength(chunk)).toBeLessThanOrEqual(limit);
          expect(chunk.trim()).not.toBe('');
          if (isWellFormed(text)) expect(isWellFormed(chunk)).toBe(true);
        }
        reassemble(text, chunks);
      }),
      { seed: 20240921, numRuns: 3000 },
    );
  });

  test('joining with the separators cut on restores the text when nothing was whitespace-only (property)', () => {
    // Texts without whitespace runs, words of at most 12 code points: with a
    // limit of at least 24 the later half of every window holds a space, so each
    // cut drops exactly one space and re-inserting one gives back the text.
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z中😀]{1,12}$/u), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 24, max: 40 }),
        (words, limit) => {
          const text = words.join(' ');
          const chunks = splitText(text, limit);
          expect(chunks.join(' ')).toBe(text);
        },
      ),
      { seed: 99, numRuns: 1000 },
    );
  });

  test('a 100 KB mixed text splits into parts that fit and give back the text', () => {
    const block = [
      '## 标题\n',
      '这是一个很长的中文段落，没有空格。它有句号！也有问号？还有分号；以及省略号……'.repeat(8),
      '\n\nAn English paragraph with sentences. It goes on! Does it? Yes. '.repeat(6),
      `\n${FAMILY}🇨🇳👍🏽 emoji line\n\n\`\`\`ts\n`,
      'const value = compute(1, 2); // 计算\n'.repeat(30),
      '```\n\n',
    ].join('');
    let text = '';
    while (text.length < 100_000) text += block;
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(25);
    for (const part of parts) expect(codePointLength(part)).toBeLessThanOrEqual(4000);
    const boundaries = graphemeBoundaries(text);
    for (const cut of reassemble(text, parts)) expect(boundaries.has(cut.end)).toBe(true);
  });
});

describe('prepareOutboundText', () => {
  test('filters then splits', () => {
    expect(prepareOutboundText('##### 标题\n*重点*', { limit: 2 })).toEqual(['标题', '重点']);
  });

  test('markdown: false skips the filter', () => {
    expect(prepareOutboundText('*重点*', { markdown: false })).toEqual(['*重点*']);
  });

  test('defaults to the 4000 limit', () => {
    expect(prepareOutboundText('y'.repeat(4001)).map(codePointLength)).toEqual([4000, 1]);
  });

  test.each(['', '   ', '\n\t\n'])('empty or whitespace-only text %j is a ValidationError', (text) => {
    expect(() => prepareOutboundText(text)).toThrow(ValidationError);
    expect(() => prepareOutboundText(text)).toThrow(/^the text to send is empty: /);
  });

  test('text that the filter empties is a ValidationError', () => {
    expect(() => prepareOutboundText('![chart](https://x/c.png)')).toThrow(/^the text to send is empty: .*markdown filter/);
  });

  test('the same text is accepted with the filter off', () => {
    expect(prepareOutboundText('![chart](u)', { markdown: false })).toEqual(['![chart](u)']);
  });

  test('a non-string is a ValidationError, not a crash', () => {
    expect(() => prepareOutboundText(undefined as unknown as string)).toThrow(ValidationError);
    expect(() => prepareOutboundText(null as unknown as string)).toThrow(/the text to send is empty/);
  });
});
