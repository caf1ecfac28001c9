/**
 * Core errors become n8n errors: bad input, and a send the server's rules
 * would refuse (reply window, budget, rate limit, §10), are the user's to fix
 * (NodeOperationError, with the item); any other refusal or failure of the
 * server is an API error (NodeApiError). Messages come from the core, which says what to
 * do next and never includes the token; the description adds the n8n steps.
 */
import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';
import {
  ApiError,
  ContextTokenError,
  HttpError,
  MediaError,
  NoContextTokenError,
  RateLimitedError,
  ReplyWindowError,
  SessionExpiredError,
  ValidationError,
} from '../../shared';

/** The option every send operation has, as the UI names it. */
export const QUEUE_HINT = 'set "When the Window Is Closed" to "Queue Until the User Writes" (in the node\'s options) to send it when they next write';

export const RELOGIN_HINT =
  'Log the bot in again: run a WeChat iLink node with Resource "Login" → "Log in (QR Code)" using this credential (or use the terminal login), then re-activate the workflow.';

function describe(error: unknown): string | undefined {
  if (error instanceof SessionExpiredError) return RELOGIN_HINT;
  if (error instanceof ReplyWindowError) {
    const rule =
      error.rule === 'budget'
        ? 'iLink delivers at most 10 bot messages per message the user sends (each text part, caption and file counts).'
        : "iLink delivers only within 24 hours of the user's last message to the bot; once it refused a message, nothing more goes out until the user writes.";
    return `${rule} Nothing was sent. Ask the user to write to the bot, or ${QUEUE_HINT}. Resource "Contact" → "Get Reply Window" shows how many messages are left.`;
  }
  if (error instanceof RateLimitedError) {
    return 'iLink throttles a bot that sends many messages in a row; this node already waited and retried. Send fewer messages (for example one longer text instead of several), and try again in a few minutes (Settings → Retry On Fail, with a wait of minutes, lets n8n do it).';
  }
  if (error instanceof NoContextTokenError) {
    return `This bot has no message from that user yet (the WeChat iLink Trigger of this bot records every sender and their context token). Answer with the context token of the message you reply to (the trigger outputs it as contextToken), or ${QUEUE_HINT}.`;
  }
  if (error instanceof ContextTokenError) {
    return 'Answer with the context token of the message you reply to (the trigger outputs it as contextToken).';
  }
  return undefined;
}

/** The user's rules were in the way (window, budget, rate limit): not a fault of the server. */
export function isSendingRuleError(error: unknown): boolean {
  return error instanceof ReplyWindowError || error instanceof RateLimitedError;
}

export function isInputError(error: unknown): boolean {
  if (error instanceof ValidationError || error instanceof NoContextTokenError) return true;
  return error instanceof MediaError && (error.kind === 'too_large' || error.kind === 'no_media' || error.kind === 'bad_key' || error.kind === 'not_on_cdn');
}

export function toNodeError(node: INode, error: unknown, itemIndex?: number): NodeApiError | NodeOperationError {
  if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const description = describe(error);
  if (isInputError(error) || isSendingRuleError(error)) return new NodeOperationError(node, message, { itemIndex, description });
  if (error instanceof ApiError || error instanceof HttpError || error instanceof MediaError) {
    const details: JsonObject = { message, name: error.name };
    if (error instanceof ApiError) Object.assign(details, { endpoint: error.endpoint, code: error.code ?? null });
    if (error instanceof HttpError) Object.assign(details, { endpoint: error.endpoint, kind: error.kind });
    if (error instanceof MediaError) Object.assign(details, { kind: error.kind });
    const status = error instanceof HttpError ? error.status : error instanceof MediaError ? error.status : undefined;
    return new NodeApiError(node, details, { message, description, itemIndex, httpCode: status ? String(status) : undefined });
  }
  return new NodeOperationError(node, message, { itemIndex, description });
}
