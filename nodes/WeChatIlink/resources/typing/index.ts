import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { startTyping, startTypingDescription } from './start';
import { stopTyping, stopTypingDescription } from './stop';

const showOnlyForTyping = { show: { resource: ['typing'] } };

export const typingDescription: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: showOnlyForTyping,
    options: [
      { name: 'Start', value: 'start', action: 'Show typing', description: 'Show "typing…" in the user\'s chat' },
      { name: 'Stop', value: 'stop', action: 'Hide typing', description: 'Hide "typing…" in the user\'s chat' },
    ],
    default: 'start',
  },
  ...startTypingDescription,
  ...stopTypingDescription,
];

export const typingOperations: Record<string, Operation> = { start: startTyping, stop: stopTyping };
