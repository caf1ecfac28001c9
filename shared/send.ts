/**
 * Outbound messages (§6): exactly one item per sendmessage, from_user_id "",
 * a fresh client_id per request, run_id per reply run, message_type BOT and
 * message_state FINISH, and the right context token.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { IlinkError, NoContextTokenError, ValidationError } from './errors';
import { textItem, toWireItem } from './messages';
import type { Item, Message } from './model';
import type { BotState } from './store';
import { prepareOutboundText } from './text';
import type { Transport } from './transport';
import { MessageItemType, MessageState, MessageType, type MessageItem, type SendMessageResponse, type WeixinMessage } from './wire';

export const DEFAULT_CLIENT_ID_PREFIX = 'wechat-ilink';

/** What a caller may send: text, friendly items, or wire items (for example from media upload). */
export type OutboundContent = string | Item | MessageItem | ReadonlyArray<string | Item | MessageItem>;

export interface SendOptions {
  /** The context token to echo; default: the stored one for the recipient. */
  contextToken?: string;
  /** Send even when no context token is known (the official client does, with a warning). */
  allowWithoutContextToken?: boolean;
  /** run_id shared by every message of one reply run. */
  runId?: string;
  /** Apply the markdown filter to text (default true, §6). */
  markdown?: boolean;
  signal?: AbortSignal;
}

export interface SendResult {
  /** Server message ID (uint64 as a string); "" when the server sent none. */
  messageId: string;
  /** Our client_id for the request; the official client uses it as the local message ID. */
  clientId: string;
  /** The wire item type that was sent. */
  itemType: number;
}

/** Thrown when a multi-part send fails part-way: `sent` lists what did go out. */
export class PartialSendError extends IlinkError {
  constructor(
    readonly failure: Error,
    readonly sent: SendResult[],
  ) {
    super(`${failure.message} (${sent.length} earlier part(s) were already sent)`, { cause: failure });
  }
}

/** `<prefix>:<unix-ms>-<8 hex chars from 4 random bytes>` (§6). */
export function makeClientId(prefix = DEFAULT_CLIENT_ID_PREFIX, now = Date.now()): string {
  return `${prefix}:${now}-${randomInt(0, 2 ** 32).toString(16).padStart(8, '0')}`;
}

function isWireItem(value: Item | MessageItem): value is MessageItem {
  return typeof (value as Item).wireType !== 'number' && typeof value.type !== 'string';
}

/** Flattens content into single wire items; text is filtered and split at 4000 characters. */
export function toOutboundItems(content: OutboundContent, markdown = true): MessageItem[] {
  const parts = Array.isArray(content) ? content : [content as string | Item | MessageItem];
  const items: MessageItem[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      for (const chunk of prepareOutboundText(part, { markdown })) items.push(textItem(chunk));
      continue;
    }
    const wire = isWireItem(part) ? part : toWireItem(part);
    if (wire.type === MessageItemType.TEXT) {
      for (const chunk of prepareOutboundText(wire.text_item?.text ?? '', { markdown })) items.push(textItem(chunk));
    } else {
      items.push(wire);
    }
  }
  if (items.length === 0) throw new ValidationError('nothing to send: give a text or at least one item');
  return items;
}

export class MessageSender {
  private readonly runIds = new Map<string, string>();

  constructor(
    private readonly transport: Transport,
    private readonly state: BotState,
    private readonly clientIdPrefix = DEFAULT_CLIENT_ID_PREFIX,
  ) {}

  /** Sends content to a user: one sendmessage per item, in order. */
  async send(to: string, content: OutboundContent, options: SendOptions = {}): Promise<SendResult[]> {
    const recipient = (to ?? '').trim();
    if (!recipient) throw new ValidationError('no recipient: give the user ID to send to (it looks like …@im.wechat)');
    const items = toOutboundItems(content, options.markdown !== false);
    const contextToken = options.contextToken || this.state.contextToken(recipient);
    if (!contextToken && !options.allowWithoutContextToken) throw new NoContextTokenError(recipient);

    const results: SendResult[] = [];
    for (const item of items) {
      try {
        results.push(await this.sendOne(recipient, item, contextToken, options));
      } catch (error) {
        if (results.length === 0) throw error;
        throw new PartialSendError(error as Error, results);
      }
    }
    return results;
  }

  /** Replies to an inbound message with its own context token, under one run_id per message. */
  async reply(message: Message, content: OutboundContent, options: Omit<SendOptions, 'contextToken'> = {}): Promise<SendResult[]> {
    return this.send(message.from, content, {
      ...options,
      contextToken: message.contextToken,
      runId: options.runId ?? this.runIdFor(message),
    });
  }

  private runIdFor(message: Message): string {
    const key = message.messageId || `${message.from}:${message.createTime}`;
    let runId = this.runIds.get(key);
    if (!runId) {
      runId = randomUUID();
      this.runIds.set(key, runId);
      if (this.runIds.size > 500) this.runIds.delete(this.runIds.keys().next().value as string);
    }
    return runId;
  }

  private async sendOne(to: string, item: MessageItem, contextToken: string | undefined, options: SendOptions): Promise<SendResult> {
    const clientId = makeClientId(this.clientIdPrefix);
    const msg: WeixinMessage = {
      from_user_id: '',
      to_user_id: to,
      client_id: clientId,
      message_type: MessageType.BOT,
      message_state: MessageState.FINISH,
      item_list: [item],
    };
    if (contextToken) msg.context_token = contextToken;
    if (options.runId) msg.run_id = options.runId;
    const response = await this.transport.post<SendMessageResponse>('sendMessage', { msg }, { signal: options.signal });
    // message_id is a uint64 the transport already turned into a decimal string; anything else is ignored.
    const raw: unknown = response.message_id;
    const messageId = typeof raw === 'string' && /^\d+$/.test(raw) ? raw : typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : '';
    // A user may quote this message later, by its ID only (§10).
    if (messageId) this.state.rememberSent(messageId, item);
    return { messageId, clientId, itemType: item.type ?? 0 };
  }
}
