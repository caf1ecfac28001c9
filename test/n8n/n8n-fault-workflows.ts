/**
 * Workflows for the n8n fault and crash suites (n8n-faults.test.ts,
 * n8n-crash.test.ts): an active Trigger → Reply, and one Webhook → action node
 * workflow per operation, with and without "Continue On Fail".
 */
import { randomUUID } from 'node:crypto';
import type { N8nWorkflowInput } from '../harness/n8n';
import { ACTION_TYPE, CREDENTIAL_TYPE, TRIGGER_TYPE, type CredentialRef } from './workflows';

const credentials = (ref: CredentialRef) => ({ [CREDENTIAL_TYPE]: { id: ref.id, name: ref.name } });

/** Trigger (everyone) → Reply with `replyText` (an n8n expression over the trigger's item). */
export function triggerReplyWorkflow(ref: CredentialRef, name: string, replyText: string): N8nWorkflowInput {
  return {
    name,
    nodes: [
      {
        id: randomUUID(),
        name: 'WeChat iLink Trigger',
        type: TRIGGER_TYPE,
        typeVersion: 1,
        position: [0, 0],
        parameters: { senders: 'everyone', options: {} },
        credentials: credentials(ref),
      },
      {
        id: randomUUID(),
        name: 'Reply',
        type: ACTION_TYPE,
        typeVersion: 1,
        position: [240, 0],
        parameters: { resource: 'message', operation: 'reply', text: replyText },
        credentials: credentials(ref),
      },
    ],
    connections: { 'WeChat iLink Trigger': { main: [[{ node: 'Reply', type: 'main', index: 0 }]] } },
  };
}

export type FaultOperation = 'sendText' | 'reply' | 'sendMedia' | 'download';

/** The action node's name in these workflows (execution data is keyed by it). */
export const ACTION_NODE = 'WeChat iLink';

/**
 * Webhook (answers with the last node's first item) → [Body: the request body as the item, for
 * Download] → the action node. Inputs: sendText/reply take {to, text, contextToken} in the JSON
 * body; sendMedia takes the file as the raw body (Content-Disposition names it) and ?to=&contextToken=;
 * download takes a trigger item (a message with its items) as the JSON body.
 */
export function actionWorkflow(ref: CredentialRef, path: string, operation: FaultOperation, continueOnFail: boolean): N8nWorkflowInput {
  const action: Record<string, unknown> = {
    id: randomUUID(),
    name: ACTION_NODE,
    type: ACTION_TYPE,
    typeVersion: 1,
    position: [440, 0],
    credentials: credentials(ref),
    ...(continueOnFail ? { onError: 'continueRegularOutput' } : {}),
  };
  switch (operation) {
    case 'sendText':
      action.parameters = {
        resource: 'message',
        operation: 'sendText',
        to: '={{ $json.body.to }}',
        text: '={{ $json.body.text }}',
        options: { contextToken: '={{ $json.body.contextToken }}' },
      };
      break;
    case 'reply':
      action.parameters = {
        resource: 'message',
        operation: 'reply',
        text: '={{ $json.body.text }}',
        replyTo: '={{ $json.body.to }}',
        contextToken: '={{ $json.body.contextToken }}',
      };
      break;
    case 'sendMedia':
      action.parameters = {
        resource: 'message',
        operation: 'sendMedia',
        to: '={{ $json.query.to }}',
        binaryPropertyName: 'data',
        options: { contextToken: '={{ $json.query.contextToken }}' },
      };
      break;
    case 'download':
      action.parameters = { resource: 'media', operation: 'download', binaryPropertyName: 'data' };
      break;
  }
  const nodes: Array<Record<string, unknown>> = [
    {
      id: randomUUID(),
      name: 'Webhook',
      type: 'n8n-nodes-base.webhook',
      typeVersion: 2,
      position: [0, 0],
      webhookId: randomUUID(),
      parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', responseData: 'firstEntryJson', options: {} },
    },
    action,
  ];
  let connections: Record<string, unknown> = { Webhook: { main: [[{ node: ACTION_NODE, type: 'main', index: 0 }]] } };
  if (operation === 'download') {
    nodes.push({
      id: randomUUID(),
      name: 'Body',
      type: 'n8n-nodes-base.set',
      typeVersion: 3.4,
      position: [220, 0],
      parameters: { mode: 'raw', jsonOutput: '={{ JSON.stringify($json.body) }}', options: {} },
    });
    connections = {
      Webhook: { main: [[{ node: 'Body', type: 'main', index: 0 }]] },
      Body: { main: [[{ node: ACTION_NODE, type: 'main', index: 0 }]] },
    };
  }
  return { name: `${operation} ${continueOnFail ? 'continue on fail' : 'stop on fail'}`, nodes, connections };
}
