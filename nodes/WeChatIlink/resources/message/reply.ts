import type { INodeProperties } from 'n8n-workflow';
import type { Message } from '../../../../shared';
import type { Operation } from '../../operation-context';
import { convertMarkdownOption, continuationHintOption, longAnswerOptionsOf, longAnswersOption, whenClosedOf, whenClosedOption } from './message-options';
import { optionsOf, requiredText, sentJson } from '../../parameters';

const showOnlyForMessageReply = { show: { resource: ['message'], operation: ['reply'] } };

export const replyDescription: INodeProperties[] = [
  {
    displayName: 'Text',
    name: 'text',
    type: 'string',
    required: true,
    typeOptions: { rows: 4 },
    default: '',
    description: 'The answer. Markdown is turned into plain text; long text is split into several messages.',
    displayOptions: showOnlyForMessageReply,
  },
  {
    displayName: 'Reply To (User ID)',
    name: 'replyTo',
    type: 'string',
    required: true,
    default: '={{ $json.from }}',
    description: 'Who wrote the message. Default: "from" of the input item, as the WeChat iLink Trigger outputs it. After other nodes, point this (and Context Token) at the trigger\'s item.',
    displayOptions: showOnlyForMessageReply,
  },
  {
    displayName: 'Context Token',
    name: 'contextToken',
    type: 'string',
    // Lets one conversation be answered; kept out of sight like other tokens.
    typeOptions: { password: true },
    required: true,
    default: '={{ $json.contextToken }}',
    description: 'The contextToken of the message answered (from the trigger). iLink needs it to deliver the reply.',
    displayOptions: showOnlyForMessageReply,
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add option',
    default: {},
    displayOptions: showOnlyForMessageReply,
    options: [
      convertMarkdownOption,
      whenClosedOption,
      longAnswersOption,
      continuationHintOption,
    ],
  },
];

export const reply: Operation = async (ctx) => {
  const text = requiredText(ctx, 'text', 'the reply text');
  const to = requiredText(ctx, 'replyTo', 'the sender to reply to (Reply To)');
  const contextToken = requiredText(ctx, 'contextToken', 'the context token of the message answered');
  const options = optionsOf<{ markdown?: boolean; whenClosed?: string; longAnswers?: string; continuationHint?: string }>(ctx);
  const client = await ctx.client();
  // The core's reply echoes the context token and gives every part of the answer one run_id (§2).
  const answered: Message = { messageId: String(ctx.item.json.messageId ?? ''), from: to, to: '', kind: 'user', items: [], text: '', contextToken };
  const results = await client.reply(answered, text, { markdown: options.markdown !== false, whenClosed: whenClosedOf(options), ...longAnswerOptionsOf(options) });
  return { json: sentJson(to, results, client) };
};
