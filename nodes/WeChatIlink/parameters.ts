/** Small readers for parameters that several operations share, with the checks n8n users need. */
import { NodeOperationError, type IBinaryData, type IDataObject } from 'n8n-workflow';
import { DEFAULT_MEDIA_MAX_BYTES, formatBytes, type ILinkClient, type SendResult, type UploadSource } from '../../shared';
import { currentReplyWindowJson } from '../common/reply-window-json';
import type { OperationContext } from './operation-context';

export function requiredText(ctx: OperationContext, name: string, what: string): string {
  const value = String(ctx.exec.getNodeParameter(name, ctx.itemIndex, '') ?? '').trim();
  if (!value) throw new NodeOperationError(ctx.exec.getNode(), `${what} is empty`, { itemIndex: ctx.itemIndex });
  return value;
}

export function optionalText(ctx: OperationContext, name: string): string {
  return String(ctx.exec.getNodeParameter(name, ctx.itemIndex, '') ?? '').trim();
}

export function optionsOf<T extends IDataObject>(ctx: OperationContext): T {
  return (ctx.exec.getNodeParameter('options', ctx.itemIndex, {}) ?? {}) as T;
}

export interface BinaryInput {
  source: UploadSource;
  fileName: string;
  mimeType: string;
  size: number;
}

/**
 * The file in an input binary property, as a stream when n8n keeps it on disk
 * (no copy in memory), checked against the 100 MiB cap before anything is read.
 */
export async function readBinaryInput(ctx: OperationContext, propertyName: string, fileNameOverride?: string): Promise<BinaryInput> {
  const node = ctx.exec.getNode();
  const binary = ctx.item.binary?.[propertyName];
  if (!binary) {
    const available = Object.keys(ctx.item.binary ?? {});
    throw new NodeOperationError(node, `the input item has no binary property "${propertyName}"`, {
      itemIndex: ctx.itemIndex,
      description: available.length ? `Binary properties on this item: ${available.join(', ')}` : 'This item carries no binary data at all.',
    });
  }
  const fileName = fileNameOverride?.trim() || binary.fileName || `file${binary.fileExtension ? `.${binary.fileExtension}` : ''}`;
  const { source, size } = await openBinary(ctx, binary, propertyName);
  if (size > DEFAULT_MEDIA_MAX_BYTES) {
    throw new NodeOperationError(node, `the file "${fileName}" is too large: ${formatBytes(size)}; the limit is ${formatBytes(DEFAULT_MEDIA_MAX_BYTES)}`, {
      itemIndex: ctx.itemIndex,
    });
  }
  return { source, fileName, mimeType: binary.mimeType, size };
}

async function openBinary(ctx: OperationContext, binary: IBinaryData, propertyName: string): Promise<{ source: UploadSource; size: number }> {
  if (binary.id) {
    const metadata = await ctx.exec.helpers.getBinaryMetadata(binary.id);
    if (metadata.fileSize > DEFAULT_MEDIA_MAX_BYTES) return { source: Buffer.alloc(0), size: metadata.fileSize };
    return { source: await ctx.exec.helpers.getBinaryStream(binary.id), size: metadata.fileSize };
  }
  const buffer = await ctx.exec.helpers.getBinaryDataBuffer(ctx.itemIndex, propertyName);
  return { source: buffer, size: buffer.length };
}

/**
 * What send operations output: IDs as strings, never the token; or, for a
 * send that went into the outbox, that it waits there. Both with the user's
 * reply window after the send.
 */
export function sentJson(to: string, results: SendResult[], client: ILinkClient): IDataObject {
  const replyWindow = currentReplyWindowJson(client, to);
  const sent = results.filter((r) => !r.queuedAs);
  const queued = results.filter((r) => r.queuedAs);
  const json: IDataObject = {
    sent: sent.length > 0,
    queued: queued.length > 0,
    to,
    messageId: sent[sent.length - 1]?.messageId ?? '',
    messageIds: sent.map((r) => r.messageId),
    clientIds: sent.map((r) => r.clientId),
  };
  if (queued.length > 0) {
    json.outboxId = queued[0].queuedAs;
    json.queuedMessages = queued.length;
    json.note =
      sent.length > 0
        ? 'a long answer: what fits the budget was sent, ending with the continuation hint; the rest waits in the outbox and goes out when the user next writes to the bot'
        : 'iLink would refuse this now (reply window closed, too few messages left, or no message from the user yet): it waits in the outbox and goes out when the user next writes to the bot';
  }
  json.replyWindow = replyWindow;
  return json;
}
