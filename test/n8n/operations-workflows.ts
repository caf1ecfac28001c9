/**
 * Workflows for n8n-operations.test.ts: the trigger's typing indicator, a
 * trigger run by hand ("Listen for test event"), and webhook-driven action
 * workflows for Recall, Media → Upload and Typing → start / stop.
 */
import type { N8nWorkflowInput } from '../harness/n8n';
import { ACTION_TYPE, CREDENTIAL_TYPE, TRIGGER_TYPE, type CredentialRef } from './workflows';

export const TRIGGER_NAME = 'WeChat iLink Trigger';

let counter = 0;
function uuid(): string {
  counter++;
  return `0be7a7e5-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

type Node = Record<string, unknown>;

function credentials(ref: CredentialRef) {
  return { [CREDENTIAL_TYPE]: { id: ref.id, name: ref.name } };
}

export function node(name: string, type: string, typeVersion: number, x: number, parameters: Record<string, unknown>, extra: Node = {}): Node {
  return { id: uuid(), name, type, typeVersion, position: [x, 0], parameters, ...extra };
}

export function action(ref: CredentialRef, name: string, x: number, parameters: Record<string, unknown>, extra: Node = {}): Node {
  return node(name, ACTION_TYPE, 1, x, parameters, { credentials: credentials(ref), ...extra });
}

/** A straight line of nodes, each feeding the next. */
export function chain(name: string, nodes: Node[]): N8nWorkflowInput {
  const connections: Record<string, unknown> = {};
  for (let i = 0; i + 1 < nodes.length; i++) {
    connections[nodes[i].name as string] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
  }
  return { name, nodes, connections };
}

/**
 * POST /webhook/<path>: JSON bodies land in `$json.body`; any other content type
 * becomes the binary property "data" (file name from Content-Disposition),
 * with the query string in `$json.query`. Answers with the last node's first item.
 */
function webhook(path: string): Node {
  return node('Webhook', 'n8n-nodes-base.webhook', 2, 0, { httpMethod: 'POST', path, responseMode: 'lastNode', responseData: 'firstEntryJson', options: {} }, { webhookId: uuid() });
}

/**
 * Trigger with "typing indicator" → Wait (so that the run visibly takes a while) →
 * Reply "done: <text>". The text "fail" makes the reply text empty, so the run fails.
 */
export function typingTriggerWorkflow(ref: CredentialRef, waitSeconds: number): N8nWorkflowInput {
  return chain('typing while running', [
    node(TRIGGER_NAME, TRIGGER_TYPE, 1, 0, { senders: 'everyone', options: { typingIndicator: true } }, { credentials: credentials(ref) }),
    node('Wait', 'n8n-nodes-base.wait', 1.1, 220, { resume: 'timeInterval', amount: waitSeconds, unit: 'seconds' }, { webhookId: uuid() }),
    action(ref, 'Reply', 440, { resource: 'message', operation: 'reply', text: '={{ $json.text === "fail" ? "" : "done: " + $json.text }}' }),
  ]);
}

/** Trigger → Reply "test: <text>": run by hand with "Listen for test event", never published. */
export function manualTriggerWorkflow(ref: CredentialRef): N8nWorkflowInput {
  return chain('listen for test event', [
    node(TRIGGER_NAME, TRIGGER_TYPE, 1, 0, { senders: 'everyone' }, { credentials: credentials(ref) }),
    action(ref, 'Reply', 220, { resource: 'message', operation: 'reply', text: '={{ "test: " + $json.text }}' }),
  ]);
}

/** Webhook {to, contextToken, text} → Send Text → Recall (the ID the send returned). */
export function sendThenRecallWorkflow(ref: CredentialRef, path: string): N8nWorkflowInput {
  return chain(`send then recall ${path}`, [
    webhook(path),
    action(ref, 'Send Text', 220, {
      resource: 'message',
      operation: 'sendText',
      to: '={{ $json.body.to }}',
      text: '={{ $json.body.text }}',
      options: { contextToken: '={{ $json.body.contextToken }}' },
    }),
    action(ref, 'Recall', 440, { resource: 'message', operation: 'recall', messageId: '={{ $json.messageId }}' }),
  ]);
}

/** Webhook {messageId} → Recall, continuing on fail so that the answer is the error item the user sees. */
export function recallWorkflow(ref: CredentialRef, path: string): N8nWorkflowInput {
  return chain(`recall ${path}`, [
    webhook(path),
    action(ref, 'Recall', 220, { resource: 'message', operation: 'recall', messageId: '={{ $json.body.messageId }}' }, { onError: 'continueRegularOutput' }),
  ]);
}

/** Webhook (raw file body, ?to=) → Media → Upload; answers with the CDN reference. */
export function uploadWorkflow(ref: CredentialRef, path: string, mediaType = 'auto'): N8nWorkflowInput {
  return chain(`upload ${path}`, [
    webhook(path),
    action(ref, 'Upload', 220, { resource: 'media', operation: 'upload', to: '={{ $json.query.to }}', binaryPropertyName: 'data', options: { mediaType } }),
  ]);
}

/** Webhook {userId, contextToken} → Typing → start or stop. */
export function typingWorkflow(ref: CredentialRef, path: string, operation: 'start' | 'stop'): N8nWorkflowInput {
  return chain(`typing ${operation} ${path}`, [
    webhook(path),
    action(ref, `Typing ${operation}`, 220, { resource: 'typing', operation, userId: '={{ $json.body.userId }}', contextToken: '={{ $json.body.contextToken }}' }),
  ]);
}

/** Trigger (Processing as given) → Wait → Reply "done: <text>": runs that take a while, to see whether they overlap. */
export function processingWorkflow(ref: CredentialRef, processing: 'oneAtATime' | 'parallel', waitSeconds: number): N8nWorkflowInput {
  return chain(`processing ${processing}`, [
    node(TRIGGER_NAME, TRIGGER_TYPE, 1, 0, { senders: 'everyone', options: { processing } }, { credentials: credentials(ref) }),
    node('Wait', 'n8n-nodes-base.wait', 1.1, 220, { resume: 'timeInterval', amount: waitSeconds, unit: 'seconds' }, { webhookId: uuid() }),
    action(ref, 'Reply', 440, { resource: 'message', operation: 'reply', text: '={{ "done: " + $json.text }}' }),
  ]);
}

// ---- the reply window (n8n-reply-window.test.ts) ----

/** Trigger (options as given) → No Operation: receives, answers nothing, so that the bot's budget is the test's. */
export function triggerOnlyWorkflow(ref: CredentialRef, name: string, parameters: Record<string, unknown> = {}): N8nWorkflowInput {
  return chain(name, [
    node(TRIGGER_NAME, TRIGGER_TYPE, 1, 0, { senders: 'everyone', options: {}, ...parameters }, { credentials: credentials(ref) }),
    node('No Operation', 'n8n-nodes-base.noOp', 1, 220, {}),
  ]);
}

/**
 * Webhook {text, whenClosed?} → Send Text to a fixed user ID, with no context token given: the
 * node must find the user's token and window in the bot's shared state. Continue On Fail as asked.
 */
/** The trigger node, with its parameters (default: everyone's messages). */
export function triggerNode(ref: CredentialRef, parameters: Record<string, unknown> = {}): Node {
  return node(TRIGGER_NAME, TRIGGER_TYPE, 1, 0, { senders: 'everyone', ...parameters }, { credentials: credentials(ref) });
}

/** A Reply to the trigger's message from anywhere down the line (its sender and context token read from the trigger's item). */
export function replyToTrigger(ref: CredentialRef, x: number, text: string): Node {
  return action(ref, 'Reply', x, {
    resource: 'message',
    operation: 'reply',
    replyTo: `={{ $('${TRIGGER_NAME}').item.json.from }}`,
    contextToken: `={{ $('${TRIGGER_NAME}').item.json.contextToken }}`,
    text,
  });
}

/** Trigger (typing) → Reply "done: <text>" → Wait: the answer goes out early, the execution ends seconds later. */
export function replyThenWaitWorkflow(ref: CredentialRef, waitSeconds: number): N8nWorkflowInput {
  return chain('typing: reply, then wait', [
    node(TRIGGER_NAME, TRIGGER_TYPE, 1, 0, { senders: 'everyone', options: { typingIndicator: true } }, { credentials: credentials(ref) }),
    action(ref, 'Reply', 220, { resource: 'message', operation: 'reply', text: '={{ "done: " + $json.text }}' }),
    node('Wait', 'n8n-nodes-base.wait', 1.1, 440, { resume: 'timeInterval', amount: waitSeconds, unit: 'seconds' }, { webhookId: uuid() }),
  ]);
}

/** Trigger (its filter, `triggerParameters`) → Reply "<label>: <text>". */
export function replyingWorkflow(ref: CredentialRef, label: string, triggerParameters: Record<string, unknown>): N8nWorkflowInput {
  return chain(`replying: ${label}`, [
    node(TRIGGER_NAME, TRIGGER_TYPE, 1, 0, { senders: 'everyone', ...triggerParameters }, { credentials: credentials(ref) }),
    action(ref, 'Reply', 220, { resource: 'message', operation: 'reply', text: `={{ "${label}: " + ($json.text || "(no text)") }}` }),
  ]);
}

export function sendTextToWorkflow(ref: CredentialRef, path: string, to: string, continueOnFail: boolean): N8nWorkflowInput {
  return chain(`send text to ${to} ${path}`, [
    webhook(path),
    action(
      ref,
      'Send Text',
      220,
      { resource: 'message', operation: 'sendText', to, text: '={{ $json.body.text }}', options: { whenClosed: '={{ $json.body.whenClosed || "fail" }}' } },
      continueOnFail ? { onError: 'continueRegularOutput' } : {},
    ),
  ]);
}

/** Webhook {userId} → Contact → Get Reply Window. */
export function replyWindowWorkflow(ref: CredentialRef, path: string): N8nWorkflowInput {
  return chain(`reply window ${path}`, [webhook(path), action(ref, 'Get Reply Window', 220, { resource: 'contact', operation: 'getReplyWindow', userId: '={{ $json.body.userId }}' })]);
}
