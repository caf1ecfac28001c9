/**
 * One inbound message as an n8n item: the core's friendly message (camelCase,
 * IDs as strings, contextToken for replying), with readable times, and the
 * media as binary when asked for.
 */
import type { IBinaryData, IDataObject, INodeExecutionData } from 'n8n-workflow';
import type { DownloadedMedia, Message } from '../../shared';

export function messageJson(message: Message, receivedAt = new Date()): IDataObject {
  // JSON round trip: drops undefined fields so that the item is plain data.
  const json = JSON.parse(JSON.stringify(message)) as IDataObject;
  json.receivedAt = receivedAt.toISOString();
  if (typeof message.createTime === 'number' && message.createTime > 0) json.createdAt = new Date(message.createTime).toISOString();
  return json;
}

export function mediaSummary(media: DownloadedMedia, binaryPropertyName: string): IDataObject {
  const summary: IDataObject = { binaryProperty: binaryPropertyName, kind: media.kind, fileName: media.fileName, mimeType: media.mimeType, size: media.size };
  if (media.durationMs !== undefined) summary.durationMs = media.durationMs;
  if (media.note) summary.note = media.note;
  return summary;
}

export function messageItem(json: IDataObject, binary?: { name: string; data: IBinaryData }): INodeExecutionData {
  return binary ? { json, binary: { [binary.name]: binary.data } } : { json };
}
