/** sendmessage (§2, §6) and the experimental recallmessage (§2, §9). */
import { MessageItemType, MessageState, MessageType, type WeixinMessage } from '../../shared/wire';
import { isPlainObject } from '../http-util';
import { badParam, firstRefusal, RATE_LIMITED, sendRefused, type Refusal } from '../rules';
import { authedBot, ok, type EndpointSpec } from './types';

/** The wire field that carries each item type's payload (§4, §9). */
const PAYLOAD_FIELD: Record<number, string> = {
  [MessageItemType.TEXT]: 'text_item',
  [MessageItemType.IMAGE]: 'image_item',
  [MessageItemType.VOICE]: 'voice_item',
  [MessageItemType.FILE]: 'file_item',
  [MessageItemType.VIDEO]: 'video_item',
  [MessageItemType.TOOL_CALL_START]: 'tool_call_start_item',
  [MessageItemType.TOOL_CALL_RESULT]: 'tool_call_result_item',
};
const MEDIA_TYPES: ReadonlySet<number> = new Set([MessageItemType.IMAGE, MessageItemType.VOICE, MessageItemType.FILE, MessageItemType.VIDEO]);

/** Strict shape of one outbound item: a known type with its payload; media must reference the CDN. */
export function checkOutboundItem(item: unknown, index: number): Refusal | undefined {
  const where = `msg.item_list[${index}]`;
  if (!isPlainObject(item)) return badParam(`${where} must be an object`);
  const type = item.type;
  if (typeof type !== 'number' || !(type in PAYLOAD_FIELD)) return badParam(`${where}.type is not a known item type`);
  const payload = item[PAYLOAD_FIELD[type]];
  if (!isPlainObject(payload)) return badParam(`${where}.${PAYLOAD_FIELD[type]} is missing`);
  if (type === MessageItemType.TEXT && (typeof payload.text !== 'string' || payload.text === '')) {
    return badParam(`${where}.text_item.text must be a non-empty string`);
  }
  if (MEDIA_TYPES.has(type)) {
    const media = payload.media;
    if (!isPlainObject(media) || typeof media.encrypt_query_param !== 'string' || !media.encrypt_query_param) {
      return badParam(`${where}.${PAYLOAD_FIELD[type]}.media.encrypt_query_param is missing`);
    }
    if (typeof media.aes_key !== 'string' || !media.aes_key) return badParam(`${where}.${PAYLOAD_FIELD[type]}.media.aes_key is missing`);
  }
  return undefined;
}

/** Rules every sendmessage must pass, strict or not. */
function checkMessageBasics(msg: Record<string, unknown>): Refusal | undefined {
  return firstRefusal(
    () => (typeof msg.to_user_id === 'string' && msg.to_user_id !== '' ? undefined : badParam('msg.to_user_id is required')),
    // Empty text produces no item_list; the official client never sends that (§6).
    () => (Array.isArray(msg.item_list) && msg.item_list.length > 0 ? undefined : badParam('msg.item_list must hold an item')),
  );
}

/** What the official client always sends (§6 sendmessage body); lenient mode skips these. */
function checkOfficialShape(msg: Record<string, unknown>): Refusal | undefined {
  const items = msg.item_list as unknown[];
  return firstRefusal(
    () => (typeof msg.client_id === 'string' && msg.client_id !== '' ? undefined : badParam('msg.client_id is required')),
    () => (msg.from_user_id === '' ? undefined : badParam('msg.from_user_id must be ""')),
    () => (msg.message_type === MessageType.BOT ? undefined : badParam('msg.message_type must be 2 (BOT)')),
    () => (msg.message_state === MessageState.FINISH ? undefined : badParam('msg.message_state must be 2 (FINISH)')),
    () => (items.length === 1 ? undefined : badParam('msg.item_list must hold exactly one item')),
    () => checkOutboundItem(items[0], 0),
  );
}

export const sendMessage: EndpointSpec = {
  name: 'sendMessage',
  method: 'POST',
  auth: true,
  handle(call) {
    const bot = authedBot(call);
    const msg = call.body.msg;
    if (!isPlainObject(msg)) return badParam('msg must be an object');
    const refusal = checkMessageBasics(msg) ?? (call.ctx.options.strict ? checkOfficialShape(msg) : undefined);
    if (refusal) return refusal;
    const to = msg.to_user_id as string;
    const contextToken = typeof msg.context_token === 'string' ? msg.context_token : undefined;
    // Missing, unknown or another user's context token: ret -2 with HTTP 200 (§2 field notes).
    if (!call.ctx.state.checkContextToken(bot.botId, to, contextToken)) return badParam('context token invalid');
    // §10: reply window, then the budget of this context token, then rate limit. A refused send counts for none of them.
    const block = call.ctx.state.sendBlock(bot.botId, to, contextToken as string);
    if (block === 'rate-limited') return RATE_LIMITED;
    if (block) return sendRefused(call.ctx.options.replyWindowErrmsg);
    const record = call.ctx.state.recordSent(bot.botId, msg as WeixinMessage);
    return ok({ message_id: record.messageId });
  },
};

export const recallMessage: EndpointSpec = {
  name: 'recallMessage',
  method: 'POST',
  auth: true,
  handle(call) {
    const bot = authedBot(call);
    const msgId = call.body.msg_id;
    if (typeof msgId !== 'string' || !/^\d+$/.test(msgId)) return badParam('msg_id must be a message id');
    // The Go SDK sends msg_id as a JSON number (§2); a quoted ID is refused in strict mode.
    if (call.ctx.options.strict && typeof rawMsgId(call.rawBody) !== 'number') return badParam('msg_id must be a number');
    if (!call.ctx.state.recall(bot.botId, msgId)) return { body: { ret: -1, errmsg: 'message not found' } };
    return ok();
  },
};

function rawMsgId(rawBody: string): unknown {
  try {
    const parsed: unknown = JSON.parse(rawBody);
    return isPlainObject(parsed) ? parsed.msg_id : undefined;
  } catch {
    return undefined;
  }
}
