import {
  NodeConnectionTypes,
  NodeOperationError,
  type IDataObject,
  type IExecuteFunctions,
  type INodeExecutionData,
  type INodeType,
  type INodeTypeDescription,
} from 'n8n-workflow';
import { ReplyWindowError, type ILinkClient } from '../../shared';
import { CREDENTIAL_NAME, effectiveToken, readCredentialFields } from '../../credentials/wechat-ilink-fields';
import { credentialTestMethods } from '../../credentials/wechat-ilink-credential-test';
import { createILinkClient, sharedBotStateFor } from '../common/client';
import { RELOGIN_HINT, toNodeError } from '../common/node-errors';
import { replyWindowJson } from '../common/reply-window-json';
import type { Operation, OperationContext } from './operation-context';
import { contactDescription, contactOperations } from './resources/contact';
import { loginDescription, loginOperations } from './resources/login';
import { mediaDescription, mediaOperations } from './resources/media';
import { messageDescription, messageOperations } from './resources/message';
import { typingDescription, typingOperations } from './resources/typing';

const operations: Record<string, Record<string, Operation>> = {
  contact: contactOperations,
  message: messageOperations,
  media: mediaOperations,
  typing: typingOperations,
  login: loginOperations,
};

export class WeChatIlink implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'WeChat iLink',
    name: 'weChatIlink',
    icon: { light: 'file:wechatIlink.svg', dark: 'file:wechatIlink.dark.svg' },
    group: ['output'],
    version: 1,
    subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
    description: 'Send and reply to WeChat messages, images, videos and files through a WeChat iLink bot',
    defaults: { name: 'WeChat iLink' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    // Literals, as n8n's lint reads them: CREDENTIAL_NAME and CREDENTIAL_TEST_NAME (the core's check, not a fixed request).
    credentials: [{ name: 'wechatIlinkApi', required: true, testedBy: 'wechatIlinkConnection' }],
    properties: [
      {
        displayName: 'Resource',
        name: 'resource',
        type: 'options',
        noDataExpression: true,
        options: [
          { name: 'Contact', value: 'contact' },
          { name: 'Login', value: 'login' },
          { name: 'Media', value: 'media' },
          { name: 'Message', value: 'message' },
          { name: 'Typing', value: 'typing' },
        ],
        default: 'message',
      },
      ...messageDescription,
      ...contactDescription,
      ...mediaDescription,
      ...typingDescription,
      ...loginDescription,
    ],
  };

  methods = { credentialTest: credentialTestMethods };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const items = this.getInputData();
    const node = this.getNode();
    const output: INodeExecutionData[] = [];
    let client: ILinkClient | undefined;
    let queued = 0;
    // One client per run (it keeps the run's typing tickets), on the bot's state that every node of
    // this n8n shares: the context tokens, reply windows and outbox the trigger keeps, across restarts.
    const getClient = async () => {
      if (client) return client;
      const credentials = (await this.getCredentials(CREDENTIAL_NAME)) as Record<string, unknown>;
      if (!effectiveToken(readCredentialFields(credentials))) {
        throw new NodeOperationError(node, 'The WeChat iLink credential has no bot token yet', { description: RELOGIN_HINT });
      }
      client = createILinkClient(credentials, {
        logger: this.logger,
        state: await sharedBotStateFor(credentials, this.logger),
        context: { workflowId: this.getWorkflow().id, node: node.name },
      });
      return client;
    };

    for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
      try {
        const resource = this.getNodeParameter('resource', itemIndex) as string;
        const operationName = this.getNodeParameter('operation', itemIndex) as string;
        const operation = operations[resource]?.[operationName];
        if (!operation) throw new NodeOperationError(node, `unknown operation "${operationName}" for resource "${resource}"`, { itemIndex });
        const ctx: OperationContext = { exec: this, itemIndex, item: items[itemIndex], client: getClient };
        const result = await operation(ctx);
        for (const entry of Array.isArray(result) ? result : [result]) {
          if (entry.json.queued === true) queued++;
          output.push({ ...entry, pairedItem: { item: itemIndex } });
        }
      } catch (error) {
        const nodeError = toNodeError(node, error, itemIndex);
        if (this.continueOnFail()) {
          const json: IDataObject = { error: nodeError.message, ...(nodeError.description ? { errorDescription: nodeError.description } : {}) };
          // Refused before any request: the item says which window, so that a workflow can branch on it.
          if (error instanceof ReplyWindowError) json.replyWindow = replyWindowJson(error.window, client?.outbox(error.window.userId).length ?? 0);
          output.push({ json, pairedItem: { item: itemIndex } });
          continue;
        }
        throw nodeError;
      }
    }
    if (queued > 0) {
      this.addExecutionHints({
        message: `${queued} send(s) went into the outbox (iLink would refuse them now): they go out when the user next writes, while a WeChat iLink Trigger of this bot is active`,
        type: 'info',
        location: 'outputPane',
      });
    }
    return [output];
  }
}
