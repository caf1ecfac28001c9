/**
 * Core errors become n8n errors: bad input is the user's to fix
 * (NodeOperationError, with the item), a refusal or failure of the server is
 * an API error (NodeApiError). Messages come from the core, which says what to
 * do next and never includes the token; the description adds the n8n steps.
 */
import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';
import { ApiError, ContextTokenError, HttpError, MediaError, NoContextTokenError, SessionExpiredError, ValidationError } from '../../shared';

export const RELOGIN_HINT =
  'Log the bot in again: run a WeChat iLink node with Resource "Login" → "Log in (QR Code)" using this credential (or use the terminal login), then re-activate the workflow.';

function describe(error: unknown): string | undefined {
  if (error instanceof SessionExpiredError) return RELOGIN_HINT;
  if (error instanceof ContextTokenError || error instanceof NoContextTokenError) {
    return 'Answer with the context token of the message you reply to (the trigger outputs it as contextToken).';
  }
  return undefined;
}

export function isInputError(error: unknown): boolean {
  if (error instanceof ValidationError || error instanceof NoContextTokenError) return true;
  return error instanceof MediaError && (error.kind === 'too_large' || error.kind === 'no_media' || error.kind === 'bad_key');
}

export function toNodeError(node: INode, error: unknown, itemIndex?: number): NodeApiError | NodeOperationError {
  if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const description = describe(error);
  if (isInputError(error)) return new NodeOperationError(node, message, { itemIndex, description });
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
