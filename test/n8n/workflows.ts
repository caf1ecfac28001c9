/** Workflows the real-n8n tests create (node types as n8n names custom extensions: CUSTOM.<name>). */
import type { N8nWorkflowInput } from '../harness/n8n';

export const TRIGGER_TYPE = 'CUSTOM.weChatIlinkTrigger';
export const ACTION_TYPE = 'CUSTOM.weChatIlink';
export const CREDENTIAL_TYPE = 'wechatIlinkApi';

let counter = 0;
function uuid(): string {
  counter++;
  return `c0ffee00-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

export type CredentialRef = { id: string; name: string };

function credentials(ref: CredentialRef) {
  return { [CREDENTIAL_TYPE]: { id: ref.id, name: ref.name } };
}

/** Webhook → "Log in (QR code)"; answers with the node's JSON, or with its QR PNG. */
export function loginWorkflow(ref: CredentialRef, path: string, answer: 'json' | 'qr'): N8nWorkflowInput {
  return {
    name: `login ${path}`,
    nodes: [
      {
        id: uuid(),
        name: 'Webhook',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: uuid(),
        parameters: {
          httpMethod: 'POST',
          path,
          responseMode: 'lastNode',
          responseData: answer === 'qr' ? 'firstEntryBinary' : 'firstEntryJson',
          responseBinaryPropertyName: 'qrCode',
          options: {},
        },
      },
      {
        id: uuid(),
        name: 'Login',
        type: ACTION_TYPE,
        typeVersion: 1,
        position: [220, 0],
        parameters: {
          resource: 'login',
          operation: 'qrLogin',
          options: {
            waitSeconds: '={{ $json.body.wait ?? 0 }}',
            verifyCode: '={{ $json.body.code ?? "" }}',
            startOver: '={{ $json.body.startOver ?? false }}',
          },
        },
        credentials: credentials(ref),
      },
    ],
    connections: { Webhook: { main: [[{ node: 'Login', type: 'main', index: 0 }]] } },
  };
}

/**
 * Trigger (media downloaded) → Reply "echo: <text>", and in parallel → Send Media
 * of the downloaded binary back (continue on fail: a text message yields an error item).
 */
export function echoWorkflow(ref: CredentialRef, name = 'echo bot'): N8nWorkflowInput {
  return {
    name,
    nodes: [
      {
        id: uuid(),
        name: 'WeChat iLink Trigger',
        type: TRIGGER_TYPE,
        typeVersion: 1,
        position: [0, 0],
        parameters: { senders: 'everyone', options: { downloadMedia: true } },
        credentials: credentials(ref),
      },
      {
        id: uuid(),
        name: 'Reply',
        type: ACTION_TYPE,
        typeVersion: 1,
        position: [240, -100],
        parameters: { resource: 'message', operation: 'reply', text: '={{ "echo: " + $json.text }}' },
        credentials: credentials(ref),
      },
      {
        id: uuid(),
        name: 'Send Back Media',
        type: ACTION_TYPE,
        typeVersion: 1,
        position: [240, 100],
        onError: 'continueRegularOutput',
        parameters: {
          resource: 'message',
          operation: 'sendMedia',
          to: '={{ $json.from }}',
          binaryPropertyName: 'data',
          caption: 'here it is',
          options: { contextToken: '={{ $json.contextToken }}' },
        },
        credentials: credentials(ref),
      },
    ],
    connections: {
      'WeChat iLink Trigger': {
        main: [
          [
            { node: 'Reply', type: 'main', index: 0 },
            { node: 'Send Back Media', type: 'main', index: 0 },
          ],
        ],
      },
    },
  };
}
