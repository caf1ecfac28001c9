/** QR rendering with the `qrcode` package: PNG for hosts, data URL for editors, text for terminals. */
import QRCode from 'qrcode';

export function renderQrPng(content: string): Promise<Buffer> {
  return QRCode.toBuffer(content, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 320 });
}

export function renderQrDataUrl(content: string): Promise<string> {
  return QRCode.toDataURL(content, { errorCorrectionLevel: 'M', margin: 2, width: 320 });
}

/**
 * How a terminal QR code is drawn. All three draw the same half-block characters
 * (one character = two modules stacked, so modules come out square):
 * - `text`: `█` marks dark modules, spaces light ones. Needs no colours, so it
 *   survives log files, NO_COLOR and plain terminals; reads right on a light background.
 * - `text-inverse`: the same with dark and light swapped, for a dark background without colours.
 * - `color`: `text` on an ANSI white background with black ink, right on any terminal that shows colours.
 */
export type QrTerminalStyle = 'text' | 'text-inverse' | 'color';
export const QR_TERMINAL_STYLES: readonly QrTerminalStyle[] = ['color', 'text', 'text-inverse'];

/** Light modules around the code: the QR standard's quiet zone, without which scanners may not find it. */
export const QR_TERMINAL_QUIET_ZONE = 4;
/** Level L keeps the code small enough for an 80-column terminal. */
export const QR_TERMINAL_ERROR_CORRECTION = 'L';

/** Index: top module dark ×2 + bottom module dark. */
const HALF_BLOCKS = [' ', '▄', '▀', '█'];
const ANSI_BLACK_ON_WHITE = '\x1b[30;47m';
const ANSI_RESET = '\x1b[0m';

/**
 * The style for an output stream: colours only on a terminal that shows them
 * (Node's hasColors honours NO_COLOR, FORCE_COLOR and TERM=dumb), else plain
 * text, so pipes and log files always get a code that decodes.
 */
export function qrTerminalStyleFor(output: { isTTY?: boolean; hasColors?: () => boolean }): QrTerminalStyle {
  return output.isTTY && output.hasColors?.() ? 'color' : 'text';
}

/** The QR code as lines of text, quiet zone included (default style `text`, safe for any output). */
export function renderQrTerminal(content: string, options: { style?: QrTerminalStyle } = {}): Promise<string> {
  return Promise.resolve(qrTerminalText(content, options.style ?? 'text'));
}

function qrTerminalText(content: string, style: QrTerminalStyle): string {
  const { size, data } = QRCode.create(content, { errorCorrectionLevel: QR_TERMINAL_ERROR_CORRECTION }).modules;
  const span = size + 2 * QR_TERMINAL_QUIET_ZONE;
  const inverse = style === 'text-inverse';
  // Outside the code (quiet zone, and the half row below it when span is odd) is light.
  const dark = (row: number, col: number): boolean => {
    const r = row - QR_TERMINAL_QUIET_ZONE;
    const c = col - QR_TERMINAL_QUIET_ZONE;
    return r >= 0 && r < size && c >= 0 && c < size && data[r * size + c] === 1;
  };
  const lines: string[] = [];
  for (let row = 0; row < span; row += 2) {
    let line = '';
    for (let col = 0; col < span; col++) {
      const top = dark(row, col) !== inverse;
      const bottom = dark(row + 1, col) !== inverse;
      line += HALF_BLOCKS[(top ? 2 : 0) + (bottom ? 1 : 0)];
    }
    lines.push(style === 'color' ? ANSI_BLACK_ON_WHITE + line + ANSI_RESET : line);
  }
  return lines.join('\n');
}
