/**
 * Reads a terminal QR code back into modules, the way a camera would see the
 * drawn characters: each character is two modules stacked (upper and lower
 * half), `█▀▄` ink is dark, a space is light. ANSI colour codes are dropped
 * (with black ink on white, the ink is the dark part either way).
 */
import QRCode from 'qrcode';

const INK: Record<string, [boolean, boolean]> = { ' ': [false, false], '▀': [true, false], '▄': [false, true], '█': [true, true] };

export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Rows of modules (true = dark) from the drawn lines; `inverse` reads ink as light. */
export function modulesFromText(text: string, inverse = false): boolean[][] {
  const lines = stripAnsi(text).split('\n');
  const rows: boolean[][] = [];
  for (const line of lines) {
    const upper: boolean[] = [];
    const lower: boolean[] = [];
    for (const char of line) {
      const ink = INK[char];
      if (!ink) throw new Error(`not a QR character: ${JSON.stringify(char)} in ${JSON.stringify(line)}`);
      upper.push(ink[0] !== inverse);
      lower.push(ink[1] !== inverse);
    }
    rows.push(upper, lower);
  }
  return rows;
}

/** The code as qrcode.create lays it out: size × size, true = dark. */
export function expectedModules(content: string, errorCorrectionLevel: QRCode.QRCodeErrorCorrectionLevel = 'L'): boolean[][] {
  const { size, data } = QRCode.create(content, { errorCorrectionLevel }).modules;
  return Array.from({ length: size }, (_, r) => Array.from({ length: size }, (_, c) => data[r * size + c] === 1));
}

/**
 * Checks what a scanner needs: the code's modules exactly, surrounded by at
 * least `quietZone` light modules on every side. Returns a description of the
 * first problem, or undefined when the drawing decodes to `expected`.
 */
export function qrDrawingProblem(drawn: boolean[][], expected: boolean[][], quietZone = 4): string | undefined {
  const size = expected.length;
  const width = drawn[0]?.length ?? 0;
  if (drawn.some((row) => row.length !== width)) return 'lines of different widths';
  // The code starts at the first row and column with a dark module.
  const top = drawn.findIndex((row) => row.some(Boolean));
  const left = Math.min(...drawn.map((row) => (row.indexOf(true) < 0 ? Infinity : row.indexOf(true))));
  if (top < 0) return 'no dark module at all';
  if (top < quietZone) return `quiet zone above is ${top} modules`;
  if (left < quietZone) return `quiet zone left is ${left} modules`;
  if (drawn.length - top - size < quietZone) return `quiet zone below is ${drawn.length - top - size} modules`;
  if (width - left - size < quietZone) return `quiet zone right is ${width - left - size} modules`;
  for (let r = 0; r < drawn.length; r++) {
    for (let c = 0; c < width; c++) {
      const inCode = r >= top && r < top + size && c >= left && c < left + size;
      const want = inCode ? expected[r - top][c - left] : false;
      if (drawn[r][c] !== want) return `module at row ${r - top}, column ${c - left} is ${drawn[r][c] ? 'dark' : 'light'}`;
    }
  }
  return undefined;
}
