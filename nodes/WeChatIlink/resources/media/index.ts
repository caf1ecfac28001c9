import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { download, downloadDescription } from './download';
import { upload, uploadDescription } from './upload';

const showOnlyForMedia = { show: { resource: ['media'] } };

export const mediaDescription: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: showOnlyForMedia,
    options: [
      { name: 'Download', value: 'download', action: 'Download the media of a message', description: 'Decrypt the image, video, file or voice (as WAV) of a received message into binary data' },
      { name: 'Upload', value: 'upload', action: 'Upload a file to the CDN', description: 'Encrypt and upload a file without sending it; outputs the CDN reference' },
    ],
    default: 'download',
  },
  ...downloadDescription,
  ...uploadDescription,
];

export const mediaOperations: Record<string, Operation> = { download, upload };
