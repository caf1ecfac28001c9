import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { getReplyWindow, getReplyWindowDescription } from './getReplyWindow';

const showOnlyForContact = { show: { resource: ['contact'] } };

export const contactDescription: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: showOnlyForContact,
    options: [
      {
        name: 'Get Reply Window',
        value: 'getReplyWindow',
        action: 'Get the reply window of a user',
        description: 'Whether the bot may send to a user now, until when, and how many messages are left',
      },
    ],
    default: 'getReplyWindow',
  },
  ...getReplyWindowDescription,
];

export const contactOperations: Record<string, Operation> = { getReplyWindow };
