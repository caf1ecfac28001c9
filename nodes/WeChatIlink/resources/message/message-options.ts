/** Options that several message operations offer, defined once. */
import type { INodeProperties } from 'n8n-workflow';
import { DEFAULT_CONTINUATION_HINT } from '../../../../shared';

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

export type LongAnswers = 'all' | 'fit';

export const longAnswersOption: INodeProperties = {
  displayName: 'Long Answers',
  name: 'longAnswers',
  type: 'options',
  options: [
    {
      name: 'Send All',
      value: 'all',
      description: 'Send the whole answer; if it needs more messages than are left, fail (or queue it whole, per "When the Window Is Closed")',
    },
    {
      name: 'Fit the Budget',
      value: 'fit',
      description:
        'Send what the messages left allow, the last one ending with the continuation hint; the rest waits in the outbox and goes out when the user writes again. Needs an active WeChat iLink Trigger on this bot.',
    },
  ],
  default: 'all',
  description:
    'What to do with an answer that needs more messages than are left: iLink delivers at most 10 per user message, and text goes out in parts of 4000 characters. Cuts fall at sentence ends.',
};

export const continuationHintOption: INodeProperties = {
  displayName: 'Continuation Hint',
  name: 'continuationHint',
  type: 'string',
  default: DEFAULT_CONTINUATION_HINT,
  description: 'With Long Answers "Fit the Budget": the words that end the last message sent now, telling the user that more follows when they write',
};

/** The send options of the two options above. */
export function longAnswerOptionsOf(options: { longAnswers?: string; continuationHint?: string }): { longAnswers: LongAnswers; continuationHint?: string } {
  return {
    longAnswers: options.longAnswers === 'fit' ? 'fit' : 'all',
    continuationHint: options.continuationHint?.trim() ? options.continuationHint : undefined,
  };
}
