import type { Operation } from '../../operation-context';
import { optionalText, requiredText } from '../../parameters';
import { typingFields } from './start';

export const stopTypingDescription = typingFields('stop');

export const stopTyping: Operation = async (ctx) => {
  const userId = requiredText(ctx, 'userId', 'the user ID');
  const contextToken = optionalText(ctx, 'contextToken') || undefined;
  const client = await ctx.client();
  const sent = await client.sendTyping(userId, false, { contextToken });
  return { json: { typing: false, userId, sent } };
};
