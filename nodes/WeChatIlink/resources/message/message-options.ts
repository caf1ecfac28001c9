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

export type WhenClosed = 'fail' | 'queue';

export const whenClosedOption: INodeProperties = {
  displayName: 'When the Window Is Closed',
  name: 'whenClosed',
  type: 'options',
  options: [
    {
      name: 'Fail',
      value: 'fail',
      description: 'Send nothing and fail (or, with Continue On Fail, output the error in the item)',
    },
    {
      name: 'Queue Until the User Writes',
      value: 'queue',
      description:
        'Keep the message in the bot\'s outbox and send it, in order, when the user next writes. Needs an active WeChat iLink Trigger on this bot: it sends the outbox.',
    },
  ],
  default: 'fail',
  description:
    'What to do with a message iLink would refuse: it delivers a bot\'s messages only within 24 hours of the user\'s last message, and at most 10 per user message (each text part, caption and file counts)',
};

/** The option's value for this item ('fail' unless set to queue). */
export function whenClosedOf(options: { whenClosed?: string }): WhenClosed {
  return options.whenClosed === 'queue' ? 'queue' : 'fail';
}
