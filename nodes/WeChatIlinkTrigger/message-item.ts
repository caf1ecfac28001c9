/**
 * One inbound message as an n8n item: the core's friendly message (camelCase,
 * IDs as strings, contextToken for replying), with readable times, the
 * sender's reply window (§10) and the media as binary when asked for. Every
 * item says which event it is: 'message', or 'windowClosing' for the warning
 * before a user's reply window closes.
 *
 * `chatInput` and `sessionId` are the two fields n8n's own Chat Trigger gives:
 * the AI Agent's default prompt reads `chatInput` and the memory nodes'
 * default session key reads `sessionId`, so an agent after this trigger needs
 * no expression. The wire's own session_id stays as `serverSessionId`.
 */
import type { IBinaryData, IDataObject, INodeExecutionData } from 'n8n-workflow';
import { chatInputOf, conversationKey, type Message } from '../../shared';

/** `botId`: the credential's bot ID; without one, the message's recipient (the bot) is used. */
export function messageJson(message: Message, receivedAt = new Date(), replyWindow?: IDataObject, botId?: string): IDataObject {
  // JSON round trip: drops undefined fields so that the item is plain data.
  const { sessionId: serverSessionId, ...fields } = JSON.parse(JSON.stringify(message)) as IDataObject;
  const json: IDataObject = { event: 'message', ...fields };
  json.chatInput = chatInputOf(message);
  json.sessionId = conversationKey(botId || message.to, message.from);
  if (serverSessionId !== undefined) json.serverSessionId = serverSessionId;
  json.receivedAt = receivedAt.toISOString();
  if (typeof message.createTime === 'number' && message.createTime > 0) json.createdAt = new Date(message.createTime).toISOString();
  if (replyWindow) json.replyWindow = replyWindow;
  return json;
}

/** The "window closing" event: the user's window (with its closesAt) is about to close. */
export function windowClosingJson(userId: string, replyWindow: IDataObject, at = new Date()): IDataObject {
  return { event: 'windowClosing', userId, replyWindow, emittedAt: at.toISOString() };
}

export function messageItem(json: IDataObject, binary?: { name: string; data: IBinaryData }): INodeExecutionData {
  return binary ? { json, binary: { [binary.name]: binary.data } } : { json };
}
