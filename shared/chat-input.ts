/**
 * A message as a chat turn for an AI assistant: the words to hand the model,
 * and a conversation key that is the same for every message of one user to
 * one bot (what chat memories key their history by).
 *
 * The wire's `session_id` is not used for the key: the protocol sheet calls it
 * informational and nothing says it stays the same for a user.
 */
import type { Message } from './model';

/** What a message with nothing readable (an unknown item type) hands the model. */
export const UNREADABLE_CHAT_INPUT = '[消息]';

/**
 * The message's words for a model: its text; for a voice message the server's
 * transcript, else `[语音]`; for media the caption, else a label naming the
 * attachment (`[图片]`, `[文件] name.pdf`). That is the body text rule of §4,
 * which `Message.text` already holds; only an empty body gets a placeholder,
 * since an assistant refuses an empty prompt.
 */
export function chatInputOf(message: Pick<Message, 'text'>): string {
  const text = typeof message.text === 'string' ? message.text : '';
  return text.trim() === '' ? UNREADABLE_CHAT_INPUT : text;
}

/** `<bot ID>:<user ID>`, stable for as long as the bot and the user exist (both IDs are). */
export function conversationKey(botId: string, userId: string): string {
  return `${botId}:${userId}`;
}
