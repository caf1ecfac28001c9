/**
 * MIME types from file names and back. §7 step 3 picks the upload media_type
 * from the MIME type guessed from the extension; a small table of common
 * types is enough for that and for labelling downloads.
 */
import { UploadMediaType } from '../wire';

const MIME_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  heic: 'image/heic',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  mkv: 'video/x-matroska',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  amr: 'audio/amr',
  silk: 'audio/silk',
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  md: 'text/markdown',
  html: 'text/html',
  json: 'application/json',
  xml: 'application/xml',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  rar: 'application/vnd.rar',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

const EXTENSION_BY_MIME: Record<string, string> = {
  'image/jpeg': 'jpg',
  'audio/mpeg': 'mp3',
  'video/mp4': 'mp4',
  'text/plain': 'txt',
};
for (const [extension, mime] of Object.entries(MIME_BY_EXTENSION)) {
  if (!EXTENSION_BY_MIME[mime]) EXTENSION_BY_MIME[mime] = extension;
}

export const DEFAULT_MIME = 'application/octet-stream';

/** The lowercase extension of a file name, without the dot ("" when none). */
export function extensionOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

export function mimeFromFileName(fileName: string): string {
  return MIME_BY_EXTENSION[extensionOf(fileName)] ?? DEFAULT_MIME;
}

/** An extension for a MIME type, without the dot ("bin" when unknown). */
export function extensionForMime(mimeType: string): string {
  return EXTENSION_BY_MIME[mimeType.split(';')[0]?.trim().toLowerCase() ?? ''] ?? 'bin';
}

export type OutboundMediaType = 1 | 2 | 3;

/** §7 step 3: video/* → VIDEO (2), image/* → IMAGE (1), anything else → FILE (3). Never VOICE (4). */
export function mediaTypeForFile(fileName: string): OutboundMediaType {
  const mime = mimeFromFileName(fileName);
  if (mime.startsWith('video/')) return UploadMediaType.VIDEO;
  if (mime.startsWith('image/')) return UploadMediaType.IMAGE;
  return UploadMediaType.FILE;
}

/** Image type from magic bytes (jpg/png/gif/webp), for naming inbound images. */
export function sniffImage(data: Buffer): { extension: string; mimeType: string } | undefined {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return { extension: 'jpg', mimeType: 'image/jpeg' };
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { extension: 'png', mimeType: 'image/png' };
  }
  if (data.length >= 6 && /^GIF8[79]a$/.test(data.subarray(0, 6).toString('latin1'))) return { extension: 'gif', mimeType: 'image/gif' };
  if (data.length >= 12 && data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') {
    return { extension: 'webp', mimeType: 'image/webp' };
  }
  return undefined;
}

/** The longest safe file name handed out, in UTF-8 bytes (file systems allow 255; room is left for a suffix). */
export const SAFE_FILE_NAME_BYTES = 200;

/**
 * A sender's file name made safe to write to disk as is: its last path part
 * only (no directories, in either slash), no control characters, no leading
 * dots (no hidden files, no `..`), at most SAFE_FILE_NAME_BYTES with the
 * extension kept; `fallback` when nothing is left. A flow that writes
 * msg.filename with a file node can then not be turned into a path traversal.
 */
export function safeFileName(name: string | undefined, fallback = 'file.bin'): string {
  // eslint-disable-next-line no-control-regex
  let base = (name ?? '').replace(/[\u0000-\u001f\u007f]/g, '').split(/[\\/]/).pop() ?? '';
  base = base.trim().replace(/^[.\s]+/, '');
  if (!base) return fallback;
  if (Buffer.byteLength(base, 'utf8') <= SAFE_FILE_NAME_BYTES) return base;
  const dot = base.lastIndexOf('.');
  const extension = dot > 0 && base.length - dot <= 16 ? base.slice(dot) : '';
  // Cut by code points, so a multi-byte character is never split; one pass, however long the name.
  const budget = SAFE_FILE_NAME_BYTES - Buffer.byteLength(extension, 'utf8');
  let stem = '';
  let bytes = 0;
  for (const char of base.slice(0, base.length - extension.length)) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > budget) break;
    stem += char;
  }
  return stem + extension;
}
