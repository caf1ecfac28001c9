import { NodeOperationError, type INodeProperties } from 'n8n-workflow';
import { pickMediaItem, type Message } from '../../../../shared';
import { mediaSummary } from '../../../common/media-summary';
import type { Operation } from '../../operation-context';
import { requiredText } from '../../parameters';

const showOnlyForMediaDownload = { show: { resource: ['media'], operation: ['download'] } };

export const downloadDescription: INodeProperties[] = [
  {
    displayName: 'Output Binary Field',
    name: 'binaryPropertyName',
    type: 'string',
    required: true,
    default: 'data',
    description: 'Where to put the file. The input item must be a message from the WeChat iLink Trigger (with its items).',
    displayOptions: showOnlyForMediaDownload,
  },
];

/** The input item's JSON is the trigger's message; its media item is picked as the official client does. */
export const download: Operation = async (ctx) => {
  const property = requiredText(ctx, 'binaryPropertyName', 'the output binary field');
  const message = ctx.item.json as unknown as Message;
  if (!Array.isArray(message.items)) {
    throw new NodeOperationError(ctx.exec.getNode(), 'the input item is not a WeChat message (it has no "items")', {
      itemIndex: ctx.itemIndex,
      description: 'Connect this node after the WeChat iLink Trigger, or pass its item through unchanged.',
    });
  }
  if (!pickMediaItem(message.items)) {
    throw new NodeOperationError(ctx.exec.getNode(), 'this message has no image, video, file or voice to download', { itemIndex: ctx.itemIndex });
  }
  const client = await ctx.client();
  const media = await client.downloadMedia(message);
  const binary = await ctx.exec.helpers.prepareBinaryData(media.data, media.fileName, media.mimeType);
  const json = { ...ctx.item.json, media: mediaSummary(media, property) };
  return { json, binary: { ...(ctx.item.binary ?? {}), [property]: binary } };
};
