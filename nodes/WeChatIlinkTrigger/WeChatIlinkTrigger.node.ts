import {
  NodeConnectionTypes,
  NodeOperationError,
  type INode,
  type INodeType,
  type INodeTypeDescription,
  type ITriggerFunctions,
  type ITriggerResponse,
} from 'n8n-workflow';
import type { MessageReceiver } from '../../shared';
import { checkCredentialFields, CREDENTIAL_NAME, readCredentialFields, type IlinkCredentialFields } from '../../credentials/wechat-ilink-fields';
import { credentialTestMethods } from '../../credentials/wechat-ilink-credential-test';
import { RELOGIN_HINT } from '../common/node-errors';
import { readTriggerConfig } from './trigger-config';
import { createTriggerReceiver, startReceiving } from './trigger-receiver';
import { createTriggerRun, type TriggerRun } from './trigger-state';
import { triggerProperties } from './trigger-properties';

export class WeChatIlinkTrigger implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'WeChat iLink Trigger',
    name: 'weChatIlinkTrigger',
    icon: { light: 'file:wechatIlink.svg', dark: 'file:wechatIlink.dark.svg' },
    group: ['trigger'],
    version: 1,
    subtitle: '={{"messages: " + $parameter["senders"]}}',
    description: 'Starts the workflow when the WeChat bot receives a message (iLink long polling)',
    defaults: { name: 'WeChat iLink Trigger' },
    inputs: [],
    outputs: [NodeConnectionTypes.Main],
    // Literals, as n8n's lint reads them: CREDENTIAL_NAME and CREDENTIAL_TEST_NAME (the core's check, not a fixed request).
    credentials: [{ name: 'wechatIlinkApi', required: true, testedBy: 'wechatIlinkConnection' }],
    properties: triggerProperties,
  };

  methods = { credentialTest: credentialTestMethods };

  async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
    const credentials = await this.getCredentials(CREDENTIAL_NAME);
    const fields = readCredentialFields(credentials);
    const config = readTriggerConfig(this, fields);
    await refuseDeadSession(this.getNode(), fields);
    const run = await createTriggerRun(this, credentials, fields);
    const closing = new AbortController();
    const receiver = createTriggerReceiver(this, run, config, closing.signal);
    return triggerResponse(this, run, receiver, closing);
  }
}

/**
 * Refuses to start on a dead session: n8n then retries the activation with a growing delay,
 * instead of a start/fail loop at the shortest interval. A network failure does not count.
 */
async function refuseDeadSession(node: INode, fields: IlinkCredentialFields): Promise<void> {
  const check = await checkCredentialFields(fields);
  if (!check.ok && (check.reason === 'no-token' || check.reason === 'session-expired')) {
    throw new NodeOperationError(node, check.reason === 'no-token' ? 'The WeChat iLink credential has no bot token yet' : check.message, {
      description: RELOGIN_HINT,
    });
  }
}

/**
 * Active: receive from now on. "Listen for test event": receive once n8n asks, through the same
 * poller as the bot's active workflows (they get the message too); n8n takes the first emitted
 * item, then calls closeFunction.
 */
function triggerResponse(context: ITriggerFunctions, run: TriggerRun, receiver: MessageReceiver, closing: AbortController): ITriggerResponse {
  let stopReceiving: (() => Promise<void>) | undefined;
  const closeFunction = async () => {
    closing.abort();
    await stopReceiving?.();
  };
  if (!run.manual) {
    stopReceiving = startReceiving(context, run, receiver);
    return { closeFunction };
  }
  return {
    closeFunction,
    manualTriggerFunction: async () => {
      stopReceiving ??= startReceiving(context, run, receiver);
    },
  };
}
