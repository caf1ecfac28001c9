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

export const contextTokenOption: INodeProperties = {
  displayName: 'Context Token',
  name: 'contextToken',
  type: 'string',
  // Lets one conversation be answered; kept out of sight like other tokens.
  typeOptions: { password: true },
  default: '',
  description: "The contextToken of the recipient's latest message (from the trigger). iLink usually refuses messages without one.",
};
