import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { optionalText, requiredText } from '../../parameters';

/** Both typing operations take the same two fields. */
export function typingFields(operation: 'start' | 'stop'): INodeProperties[] {
  const displayOptions = { show: { resource: ['typing'], operation: [operation] } };
  return [
    {
      displayName: 'User ID',
      name: 'userId',
      type: 'string',
      required: true,
      default: '={{ $json.from }}',
      description: 'Whose chat shows "typing…" (default: the sender of the input message)',
      displayOptions,
    },
    {
      displayName: 'Context Token',
      name: 'contextToken',
      type: 'string',
      // Lets one conversation be answered; kept out of sight like other tokens.
      typeOptions: { password: true },
      default: '={{ $json.contextToken }}',
      description: 'The contextToken of the user\'s latest message (from the trigger)',
      displayOptions,
    },
  ];
}

export const startTypingDescription = typingFields('start');

/** One "typing" signal; WeChat hides it after a few seconds unless it is repeated or stopped. */
export const startTyping: Operation = async (ctx) => {
  const userId = requiredText(ctx, 'userId', 'the user ID');
  const contextToken = optionalText(ctx, 'contextToken') || undefined;
  const client = await ctx.client();
  const shown = await client.sendTyping(userId, true, { contextToken });
  return { json: { typing: shown, userId, ...(shown ? {} : { note: 'iLink gave no typing ticket for this user; nothing was shown' }) } };
};
