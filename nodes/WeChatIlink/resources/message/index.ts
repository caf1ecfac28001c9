import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { recall, recallDescription } from './recall';
import { reply, replyDescription } from './reply';
import { sendMedia, sendMediaDescription } from './sendMedia';
import { sendText, sendTextDescription } from './sendText';

const showOnlyForMessage = { show: { resource: ['message'] } };

export const messageDescription: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: showOnlyForMessage,
    options: [
      { name: 'Recall (Experimental)', value: 'recall', action: 'Recall a sent message', description: 'Take back a message the bot sent (unverified endpoint)' },
      { name: 'Reply', value: 'reply', action: 'Reply to a message', description: 'Answer the message from the trigger (uses its sender and context token)' },
      { name: 'Send Media', value: 'sendMedia', action: 'Send an image video or file', description: 'Upload a binary file and send it as image, video or file' },
      { name: 'Send Text', value: 'sendText', action: 'Send a text message', description: 'Send text to a WeChat user' },
    ],
    default: 'reply',
  },
  ...sendTextDescription,
  ...sendMediaDescription,
  ...replyDescription,
  ...recallDescription,
];

export const messageOperations: Record<string, Operation> = { sendText, sendMedia, reply, recall };
