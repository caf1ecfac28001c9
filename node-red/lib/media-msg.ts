/** How a downloaded file goes into a msg, the same for wechat in and wechat media. */
import type { DownloadedMedia } from '../../shared';
import type { NodeMessage } from './red-api';

/**
 * msg.payload = the bytes, msg.filename = a name safe to write to disk (the
 * sender's own name, if it differs, is msg.media.originalFileName: never use
 * it as a path), msg.mimetype, msg.media = what else is known.
 */
export function putMedia(msg: NodeMessage, media: DownloadedMedia): void {
  msg.payload = media.data;
  msg.filename = media.fileName;
  msg.mimetype = media.mimeType;
  msg.media = { kind: media.kind, size: media.size, durationMs: media.durationMs, note: media.note, originalFileName: media.originalFileName };
}
