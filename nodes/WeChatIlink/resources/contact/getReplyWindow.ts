import type { INodeProperties } from 'n8n-workflow';
import { currentReplyWindowJson } from '../../../common/reply-window-json';
import type { Operation } from '../../operation-context';
import { requiredText } from '../../parameters';

const showOnlyForGetReplyWindow = { show: { resource: ['contact'], operation: ['getReplyWindow'] } };

export const getReplyWindowDescription: INodeProperties[] = [
  {
    displayName:
      'iLink delivers a bot\'s messages only within 24 hours of the user\'s last message, and at most 10 per user message. This shows what this bot knows of a user\'s window: whether it is open, when it closes, how many messages are left, and how many wait in the outbox. It knows users who wrote while a WeChat iLink Trigger of this bot was listening in this n8n; for others "known" is false and iLink decides.',
    name: 'replyWindowNotice',
    type: 'notice',
    default: '',
    displayOptions: showOnlyForGetReplyWindow,
  },
  {
    displayName: 'User ID',
    name: 'userId',
    type: 'string',
    required: true,
    default: '={{ $json.from }}',
    placeholder: 'e.g. o9x8y7@im.wechat',
    description: 'The WeChat user ID (the "from" of a message they sent the bot)',
    displayOptions: showOnlyForGetReplyWindow,
  },
];

/** Reads the shared state only: no request to iLink. */
export const getReplyWindow: Operation = async (ctx) => {
  const userId = requiredText(ctx, 'userId', 'the user ID');
  const client = await ctx.client();
  return { json: currentReplyWindowJson(client, userId) };
};
