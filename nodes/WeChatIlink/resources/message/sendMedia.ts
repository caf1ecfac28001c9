import type { INodeProperties } from 'n8n-workflow';
import { UploadMediaType, type OutboundMediaType } from '../../../../shared';
import type { Operation } from '../../operation-context';
import { contextTokenOption, sendWithoutContextTokenOption, whenClosedOf, whenClosedOption } from './message-options';
import { optionsOf, readBinaryInput, requiredText, sentJson } from '../../parameters';

const showOnlyForMessageSendMedia = { show: { resource: ['message'], operation: ['sendMedia'] } };

export const mediaTypeOption: INodeProperties = {
  displayName: 'Media Type',
  name: 'mediaType',
  type: 'options',
  options: [
    { name: 'From File Name', value: 'auto' },
    { name: 'Image', value: 'image' },
    { name: 'Video', value: 'video' },
    { name: 'File', value: 'file' },
  ],
  default: 'auto',
  description: 'How WeChat shows it. From File Name: images and videos by extension, anything else as a file.',
};

export const MEDIA_TYPE_VALUES: Record<string, OutboundMediaType | undefined> = {
  auto: undefined,
  image: UploadMediaType.IMAGE,
  video: UploadMediaType.VIDEO,
  file: UploadMediaType.FILE,
};

export const sendMediaDescription: INodeProperties[] = [
  {
    displayName: 'To (User ID)',
    name: 'to',
    type: 'string',
    required: true,
    default: '={{ $json.from }}',
    placeholder: 'e.g. o9x8y7@im.wechat',
    description: 'WeChat user ID of the recipient',
    displayOptions: showOnlyForMessageSendMedia,
  },
  {
    displayName: 'Input Binary Field',
    name: 'binaryPropertyName',
    type: 'string',
    required: true,
    default: 'data',
    description: 'The binary property of the input item that holds the image, video or file (up to 100 MiB)',
    displayOptions: showOnlyForMessageSendMedia,
  },
  {
    displayName: 'Caption',
    name: 'caption',
    type: 'string',
    default: '',
    description: 'Text sent just before the media, as its own message',
    displayOptions: showOnlyForMessageSendMedia,
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add option',
    default: {},
    displayOptions: showOnlyForMessageSendMedia,
    options: [
      contextTokenOption,
      {
        displayName: 'File Name',
        name: 'fileName',
        type: 'string',
        default: '',
        description: 'Name shown to the user; default: the binary\'s file name',
      },
      mediaTypeOption,
      sendWithoutContextTokenOption,
      whenClosedOption,
    ],
  },
];

export const sendMedia: Operation = async (ctx) => {
  const to = requiredText(ctx, 'to', 'the recipient (To)');
  const property = requiredText(ctx, 'binaryPropertyName', 'the input binary field');
  const caption = String(ctx.exec.getNodeParameter('caption', ctx.itemIndex, '') ?? '');
  const options = optionsOf<{ contextToken?: string; fileName?: string; mediaType?: string; allowWithoutContextToken?: boolean; whenClosed?: string }>(ctx);
  const input = await readBinaryInput(ctx, property, options.fileName);
  const client = await ctx.client();
  const results = await client.sendMedia(to, input.source, {
    fileName: input.fileName,
    mediaType: MEDIA_TYPE_VALUES[options.mediaType ?? 'auto'],
    caption,
    contextToken: options.contextToken?.trim() || undefined,
    allowWithoutContextToken: options.allowWithoutContextToken === true,
    whenClosed: whenClosedOf(options),
  });
  return { json: { ...sentJson(to, results, client), fileName: input.fileName, size: input.size } };
};
