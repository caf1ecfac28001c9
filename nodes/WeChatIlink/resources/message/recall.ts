import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { requiredText } from '../../parameters';

const showOnlyForMessageRecall = { show: { resource: ['message'], operation: ['recall'] } };

export const recallDescription: INodeProperties[] = [
  {
    displayName: 'Experimental: only an unofficial SDK uses iLink\'s recall endpoint; it may not work.',
    name: 'recallNotice',
    type: 'notice',
    default: '',
    displayOptions: showOnlyForMessageRecall,
  },
  {
    displayName: 'Message ID',
    name: 'messageId',
    type: 'string',
    required: true,
    default: '',
    description: 'The numeric server message ID that a send returned (messageId)',
    displayOptions: showOnlyForMessageRecall,
  },
];

export const recall: Operation = async (ctx) => {
  const messageId = requiredText(ctx, 'messageId', 'the message ID');
  const client = await ctx.client();
  await client.recall(messageId);
  return { json: { recalled: true, messageId, experimental: true } };
};
