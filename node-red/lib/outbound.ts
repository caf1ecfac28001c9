/**
 * How ilink-send and friends read a msg: who to send to, and what. What a
 * payload may be and how it becomes a send are the core's rules
 * (shared/outbound-parts.ts); this file only knows the msg's fields.
 *
 * Recipient ("reply" mode, the default): the sender of msg.ilink when the msg
 * came from ilink-in (its context token is reused), else msg.to, else the
 * node's configured user. "fixed" mode ignores msg.ilink (for forwarding).
 */
import { readOutbound, sendOutbound, ValidationError, type ILinkClient, type Message, type OutboundRequest, type SendOptions } from '../../shared';
import type { NodeMessage } from './red-api';

export type Target = { kind: 'reply'; message: Message } | { kind: 'send'; to: string };

export type RecipientMode = 'reply' | 'fixed';

function isInboundMessage(value: unknown): value is Message {
  if (!value || typeof value !== 'object') return false;
  const message = value as Partial<Message>;
  return typeof message.from === 'string' && message.from !== '' && Array.isArray(message.items);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

export function resolveTarget(msg: NodeMessage, configuredTo: string | undefined, mode: RecipientMode = 'reply'): Target {
  if (mode === 'reply' && isInboundMessage(msg.ilink)) return { kind: 'reply', message: msg.ilink };
  const to = text(msg.to) ?? text(configuredTo);
  if (!to) {
    throw new ValidationError(
      'no recipient: send a msg that came from an ilink-in node (to reply), set msg.to, or fill in "To" (a user ID like …@im.wechat)',
    );
  }
  return { kind: 'send', to };
}

export function recipientOf(target: Target): string {
  return target.kind === 'reply' ? target.message.from : target.to;
}

export function contextTokenOf(target: Target): string | undefined {
  return target.kind === 'reply' ? target.message.contextToken : undefined;
}

/** Reads msg.payload (+ msg.filename, msg.caption). Throws ValidationError for what cannot be sent. */
export function contentOf(msg: NodeMessage): OutboundRequest {
  return readOutbound({ payload: msg.payload, fileName: msg.filename, caption: msg.caption }, { payload: 'msg.payload', fileName: 'msg.filename' });
}

/** Sends the content; resolves with the per-item results of the core. */
export function sendContent(client: ILinkClient, target: Target, content: OutboundRequest, sendOptions: Omit<SendOptions, 'contextToken'> = {}) {
  return sendOutbound(client, target.kind === 'reply' ? { replyTo: target.message } : { to: target.to }, content, sendOptions);
}
