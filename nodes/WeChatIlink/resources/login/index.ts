import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../../operation-context';
import { qrLogin, qrLoginDescription } from './qrLogin';

const showOnlyForLogin = { show: { resource: ['login'] } };

export const loginDescription: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: showOnlyForLogin,
    options: [
      { name: 'Log in (QR Code)', value: 'qrLogin', action: 'Log in with a QR code', description: 'Show a QR code to scan with WeChat; stores the bot token in the credential' },
    ],
    default: 'qrLogin',
  },
  ...qrLoginDescription,
];

export const loginOperations: Record<string, Operation> = { qrLogin };
