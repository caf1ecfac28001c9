/** The trigger's parameters (filters first, then options). */
import type { INodeProperties } from 'n8n-workflow';

export const triggerProperties: INodeProperties[] = [
  {
    displayName:
      'Receives messages sent to the bot. Several workflows may use the same bot: each trigger gets the messages its own filters pass. Reply with a "WeChat iLink" node ("Message" → "Reply"): it takes the sender and context token from this item.',
    name: 'triggerNotice',
    type: 'notice',
    default: '',
  },
  {
    displayName: 'Message Types',
    name: 'messageTypes',
    type: 'multiOptions',
    options: [
      { name: 'File', value: 'file' },
      { name: 'Image', value: 'image' },
      { name: 'Text', value: 'text' },
      { name: 'Video', value: 'video' },
      { name: 'Voice', value: 'voice' },
    ],
    default: [],
    description: 'Only start for messages that contain one of these. None selected: every type.',
  },
  {
    displayName: 'Senders',
    name: 'senders',
    type: 'options',
    options: [
      { name: 'Everyone', value: 'everyone', description: 'Any WeChat user who writes to the bot' },
      { name: 'Owner Only', value: 'owner', description: 'Only the user who logged the bot in (owner user ID in the credential)' },
      { name: 'Allow-List', value: 'list', description: 'Only the user IDs listed below' },
    ],
    default: 'everyone',
  },
  {
    displayName: 'Allowed User IDs',
    name: 'allowList',
    type: 'string',
    default: '',
    placeholder: 'e.g. o9x8y7@im.wechat, p1q2r3@im.wechat',
    description: 'WeChat user IDs, separated by commas or spaces',
    displayOptions: { show: { senders: ['list'] } },
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add option',
    default: {},
    options: [
      {
        displayName: 'Binary Property',
        name: 'binaryPropertyName',
        type: 'string',
        default: 'data',
        description: 'Name of the binary property that receives downloaded media',
      },
      {
        displayName: 'Case Sensitive',
        name: 'caseSensitive',
        type: 'boolean',
        default: false,
        description: 'Whether the text match tells upper and lower case apart',
      },
      {
        displayName: 'Download Media',
        name: 'downloadMedia',
        type: 'boolean',
        default: false,
        description: 'Whether to download and decrypt an image, video, file or voice (as WAV) into the item\'s binary data',
      },
      {
        displayName: 'Ignore Bot Echoes',
        name: 'ignoreBotEchoes',
        type: 'boolean',
        default: true,
        description: 'Whether to skip copies of messages the bot itself sent',
      },
      {
        displayName: 'Processing',
        name: 'processing',
        type: 'options',
        default: 'oneAtATime',
        options: [
          {
            name: 'One at a Time',
            value: 'oneAtATime',
            description:
              'Start the next message\'s execution when the previous one has finished (at most 60 s). A backlog does not flood n8n, and each user gets answers in order.',
          },
          {
            name: 'In Parallel',
            value: 'parallel',
            description: 'Start an execution for every message at once. Slow workflows for several users overlap; a burst can overload n8n.',
          },
        ],
        description: 'Whether to wait for each execution to finish before starting the next',
      },
      {
        displayName: 'Text Match',
        name: 'textMatchMode',
        type: 'options',
        options: [
          { name: 'None', value: 'none' },
          { name: 'Contains', value: 'contains' },
          { name: 'Regular Expression', value: 'regex' },
        ],
        default: 'none',
        description: 'Only start for messages whose text matches',
      },
      {
        displayName: 'Text Pattern',
        name: 'textPattern',
        type: 'string',
        default: '',
        placeholder: 'e.g. ^/help',
        description: 'The text to look for, or a regular expression',
      },
      {
        displayName: 'Typing Indicator',
        name: 'typingIndicator',
        type: 'boolean',
        default: false,
        description: 'Whether to show "typing…" to the sender while the workflow runs',
      },
      {
        displayName: 'Window Closing Warning (Minutes Before)',
        name: 'windowClosingMinutes',
        type: 'number',
        typeOptions: { minValue: 0, maxValue: 1440 },
        default: 0,
        description:
          'WeChat iLink delivers a bot\'s messages only within 24 hours of the user\'s last message. When set (0 = off), the trigger also emits an item { event: "windowClosing", userId, replyWindow } this many minutes before a user\'s window closes, so that the workflow can still write to them (for example, ask them to reply). Only for users the Senders setting lets through; message items have event "message", so route them with an IF or Switch node on the event field.',
      },
    ],
  },
];
