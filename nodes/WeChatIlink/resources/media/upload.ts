import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { optionsOf, readBinaryInput, requiredText } from '../../parameters';
import { MEDIA_TYPE_VALUES, mediaTypeOption } from '../message/sendMedia';

const showOnlyForMediaUpload = { show: { resource: ['media'], operation: ['upload'] } };

export const uploadDescription: INodeProperties[] = [
  {
    displayName: 'To (User ID)',
    name: 'to',
    type: 'string',
    required: true,
    default: '={{ $json.from }}',
    description: 'The recipient the upload is meant for (iLink ties uploads to a recipient)',
    displayOptions: showOnlyForMediaUpload,
  },
  {
    displayName: 'Input Binary Field',
    name: 'binaryPropertyName',
    type: 'string',
    required: true,
    default: 'data',
    description: 'The binary property of the input item that holds the file (up to 100 MiB)',
    displayOptions: showOnlyForMediaUpload,
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add option',
    default: {},
    displayOptions: showOnlyForMediaUpload,
    options: [
      { displayName: 'File Name', name: 'fileName', type: 'string', default: '', description: 'Name shown to the user; default: the binary\'s file name' },
      mediaTypeOption,
    ],
  },
];

/** Encrypts and uploads only; the output is the CDN reference a later send can use. */
export const upload: Operation = async (ctx) => {
  const to = requiredText(ctx, 'to', 'the recipient (To)');
  const property = requiredText(ctx, 'binaryPropertyName', 'the input binary field');
  const options = optionsOf<{ fileName?: string; mediaType?: string }>(ctx);
  const input = await readBinaryInput(ctx, property, options.fileName);
  const client = await ctx.client();
  const uploaded = await client.uploadMedia(input.source, { fileName: input.fileName, toUserId: to, mediaType: MEDIA_TYPE_VALUES[options.mediaType ?? 'auto'] });
  return { json: { uploaded: true, to, ...JSON.parse(JSON.stringify(uploaded)) } };
};
