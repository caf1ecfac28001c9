/** QR rendering with the `qrcode` package: PNG for hosts, data URL for editors, text for terminals. */
import QRCode from 'qrcode';

export function renderQrPng(content: string): Promise<Buffer> {
  return QRCode.toBuffer(content, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 320 });
}

export function renderQrDataUrl(content: string): Promise<string> {
  return QRCode.toDataURL(content, { errorCorrectionLevel: 'M', margin: 2, width: 320 });
}

export function renderQrTerminal(content: string): Promise<string> {
  return QRCode.toString(content, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
}
