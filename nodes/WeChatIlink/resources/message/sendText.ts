import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { contextTokenOption, convertMarkdownOption, sendWithoutContextTokenOption, continuationHintOption, longAnswerOptionsOf, longAnswersOption, whenClosedOf, whenClosedOption } from './message-options';
import { optionsOf, requiredText, sentJson } from '../../parameters';

const showOnlyForMessageSendText = { show: { resource: ['message'], operation: ['sendText'] } };

export const sendTextDescription: INodeProperties[] = [
  {
    displayName: 'To (User ID)',
    name: 'to',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. o9x8y7@im.wechat',
    description: 'WeChat user ID of the recipient (the "from" of a message they sent the bot)',
    displayOptions: showOnlyForMessageSendText,
  },
  {
    displayName: 'Text',
    name: 'text',
    type: 'string',
    required: true,
    typeOptions: { rows: 4 },
    default: '',
    description: 'The message. Markdown is turned into plain text; long text is split into several messages.',
    displayOptions: showOnlyForMessageSendText,
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add option',
    default: {},
    displayOptions: showOnlyForMessageSendText,
    options: [
      contextTokenOption,
      sendWithoutContextTokenOption,
      convertMarkdownOption,
      whenClosedOption,
      longAnswersOption,
      continuationHintOption,
    ],
  },
];

export const sendText: Operation = async (ctx) => {
  const to = requiredText(ctx, 'to', 'the recipient (To)');
  const text = requiredText(ctx, 'text', 'the text');
  const options = optionsOf<{ contextToken?: string; allowWithoutContextToken?: boolean; markdown?: boolean; whenClosed?: string; longAnswers?: string; continuationHint?: string }>(ctx);
  const client = await ctx.client();
  const results = await client.send(to, text, {
    contextToken: options.contextToken?.trim() || undefined,
    allowWithoutContextToken: options.allowWithoutContextToken === true,
    markdown: options.markdown !== false,
    whenClosed: whenClosedOf(options),
    ...longAnswerOptionsOf(options),
  });
  return { json: sentJson(to, results, client) };
};
