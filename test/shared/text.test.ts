import fc from 'fast-check';
import { filterMarkdown, prepareOutboundText, splitText, TEXT_CHUNK_LIMIT } from '../../shared/text';
import { ValidationError } from '../../shared/errors';

const codePointLength = (s: string): number => Array.from(s).length;
const withoutWhitespace = (s: string): string => s.replace(/\s+/gu, '');
/** True when the string has no lone surrogate (a split surrogate pair would leave one). */
const isWellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

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

  test('short text is returned as one chunk, unchanged', () => {
    expect(splitText('  hi  \n')).toEqual(['  hi  \n']);
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
  });

  test('rejects a limit below 1 or not a whole number', () => {
    expect(() => splitText('abc', 0)).toThrow(ValidationError);
    expect(() => splitText('abc', 2.5)).toThrow(ValidationError);
    expect(() => splitText('abc', Number.NaN)).toThrow(ValidationError);
  });

  test('content is preserved and every chunk fits (property, seeded)', () => {
    const unit = fc.oneof(
      fc.constantFrom('a', 'b', 'Z', '中', '文', '😀', '👍🏽', ' ', ' ', '\n', '\t', '\u3000', '.'),
      fc.string({ minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (units, limit) => {
        const text = units.join('');
        const chunks = splitText(text, limit);
        for (const chunk of chunks) {
          expect(codePointLength(chunk)).toBeLessThanOrEqual(limit);
          expect(chunk.trim()).not.toBe('');
          if (isWellFormed(text)) expect(isWellFormed(chunk)).toBe(true);
        }
        expect(withoutWhitespace(chunks.join(''))).toBe(withoutWhitespace(text));
      }),
      { seed: 20240921, numRuns: 3000 },
    );
  });

  test('joining with the separators cut on restores the text when nothing was whitespace-only (property)', () => {
    // Texts without whitespace runs: each cut drops exactly one separator, so
    // re-inserting "some whitespace" between chunks gives back the same words in order.
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z中😀]{1,12}$/u), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 12, max: 30 }),
        (words, limit) => {
          const text = words.join(' ');
          const chunks = splitText(text, limit);
          expect(chunks.join(' ')).toBe(text);
        },
      ),
      { seed: 99, numRuns: 1000 },
    );
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
