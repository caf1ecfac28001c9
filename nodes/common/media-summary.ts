/** What a downloaded file's item says about it, the same for the trigger and Media → Download. */
import type { IDataObject } from 'n8n-workflow';
import type { DownloadedMedia } from '../../shared';

export function mediaSummary(media: DownloadedMedia, binaryPropertyName: string): IDataObject {
  const summary: IDataObject = { binaryProperty: binaryPropertyName, kind: media.kind, fileName: media.fileName, mimeType: media.mimeType, size: media.size };
  if (media.durationMs !== undefined) summary.durationMs = media.durationMs;
  if (media.note) summary.note = media.note;
  // The sender's own name, when it was not safe as is: never use it as a path.
  if (media.originalFileName !== undefined) summary.originalFileName = media.originalFileName;
  return summary;
}
