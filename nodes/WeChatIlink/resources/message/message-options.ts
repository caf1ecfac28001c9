/** Options that several message operations offer, defined once. */
import type { INodeProperties } from 'n8n-workflow';

export const convertMarkdownOption: INodeProperties = {
  displayName: 'Convert Markdown',
  name: 'markdown',
  type: 'boolean',
  default: true,
  description: 'Whether to turn Markdown into plain text as WeChat shows it',
};

export const sendWithoutContextTokenOption: INodeProperties = {
  displayName: 'Send Without Context Token',
  name: 'allowWithoutContextToken',
  type: 'boolean',
  default: false,
  description: 'Whether to send even when no context token is known (the server may refuse it)',
};
