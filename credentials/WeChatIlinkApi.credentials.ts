import type {
  IAuthenticate,
  ICredentialDataDecryptedObject,
  ICredentialType,
  IDataObject,
  IHttpRequestHelper,
  IHttpRequestOptions,
  INodeProperties,
  Icon,
} from 'n8n-workflow';
import { DEFAULT_API_BASE, Transport } from '../shared';
import { NOT_LOGGED_IN } from './wechat-ilink-credential-test';
import { effectiveToken, readCredentialFields } from './wechat-ilink-fields';
import { LOGIN_STEP_FLAG, runLoginHook } from './wechat-ilink-login-hook';

/**
 * WeChat iLink bot credential. The token comes from a QR login that runs
 * inside n8n (the "Log in (QR code)" operation drives `preAuthentication`,
 * which stores the token in a hidden field), or is pasted from the terminal
 * login. The token never appears in a node's output. Its connection test is
 * the nodes' `testedBy` (wechat-ilink-credential-test.ts), the core's check.
 */
export class WeChatIlinkApi implements ICredentialType {
  name = 'wechatIlinkApi';

  displayName = 'WeChat iLink API';

  icon: Icon = { light: 'file:wechatIlink.svg', dark: 'file:wechatIlink.dark.svg' };

  documentationUrl = 'https://github.com/n8n-nodes-wechat-ilink/n8n-nodes-wechat-ilink#readme';

  properties: INodeProperties[] = [
    {
      displayName:
        'To log in: save this credential, add a "WeChat iLink" node with Resource "Login" → "Log in (QR Code)", run it and scan the QR code in its output with WeChat; run it again to finish (it waits for you to confirm on the phone). ' +
        'If the phone shows a number, type it in "Verification Number" below (or in the node) and run the node again. ' +
        'Alternatively run "npx n8n-nodes-wechat-ilink login" in a terminal and paste the token into "Bot Token". ' +
        'Tip: turn off saving manual executions while logging in, since the QR image is kept with them.',
      name: 'loginNotice',
      type: 'notice',
      default: '',
    },
    {
      displayName: 'API Base URL',
      name: 'baseUrl',
      type: 'string',
      default: DEFAULT_API_BASE,
      description: 'The iLink server. The QR login always starts here; the account may then get its own API address, which is stored automatically.',
    },
    {
      displayName: 'Verification Number',
      name: 'verifyCode',
      type: 'string',
      default: '',
      placeholder: 'e.g. 42',
      description: 'Only during a login, when WeChat shows a number on the phone: type it here, save, and run the login step again',
    },
    {
      displayName: 'Bot Token',
      name: 'botToken',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      description: 'Leave empty to log in with the QR code inside n8n. Fill in only with a token from the terminal login (npx n8n-nodes-wechat-ilink login); it then wins over the QR login.',
    },
    {
      displayName: 'Bot ID',
      name: 'botId',
      type: 'string',
      default: '',
      placeholder: 'e.g. 1a2b3c@im.bot',
      description: 'Filled in by the QR login. Keeps one receiver per bot and names its state.',
    },
    {
      displayName: 'Owner User ID',
      name: 'ownerUserId',
      type: 'string',
      default: '',
      placeholder: 'e.g. o9x8y7@im.wechat',
      description: 'The WeChat user who scanned the QR code. Filled in by the QR login; used by "owner only" in the trigger and by the connection test.',
    },
    {
      displayName: 'Advanced Settings',
      name: 'showAdvanced',
      type: 'boolean',
      default: false,
      description: 'Whether to show the CDN base URL, route tag and bot agent',
    },
    {
      displayName: 'CDN Base URL',
      name: 'cdnBaseUrl',
      type: 'string',
      default: '',
      placeholder: 'https://novac2c.cdn.weixin.qq.com/c2c',
      description: 'Where encrypted media is uploaded and downloaded. Empty: the official CDN.',
      displayOptions: { show: { showAdvanced: [true] } },
    },
    {
      displayName: 'Route Tag',
      name: 'routeTag',
      type: 'string',
      default: '',
      description: 'Sent as the SKRouteTag header when set',
      displayOptions: { show: { showAdvanced: [true] } },
    },
    {
      displayName: 'Bot Agent',
      name: 'botAgent',
      type: 'string',
      default: '',
      placeholder: 'MyBot/1.0',
      description: 'How the bot introduces itself (bot_agent, User-Agent style). Empty: this package\'s name and version.',
      displayOptions: { show: { showAdvanced: [true] } },
    },
    // Written by the QR login (preAuthentication). n8n runs the hook when this expirable field is empty.
    {
      displayName: 'Login Token',
      name: 'loginToken',
      type: 'hidden',
      typeOptions: { expirable: true, password: true },
      default: '',
    },
    {
      displayName: 'Account API Base URL',
      name: 'accountBaseUrl',
      type: 'hidden',
      default: '',
    },
    {
      // Holds the QR polling handle, which could collect the token: kept secret like the token.
      displayName: 'Login Ticket',
      name: 'loginTicket',
      type: 'hidden',
      typeOptions: { password: true },
      default: '',
    },
    {
      displayName: 'Login Status',
      name: 'loginStatus',
      type: 'hidden',
      default: '',
    },
  ];

  async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject): Promise<IDataObject> {
    return runLoginHook(credentials);
  }

  /**
   * iLink headers and base_info from the core transport (a fresh X-WECHAT-UIN
   * per request), so that the HTTP Request node can use this credential too.
   */
  authenticate: IAuthenticate = async (credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> => {
    const fields = readCredentialFields(credentials);
    const token = effectiveToken(fields);
    if (!token && credentials[LOGIN_STEP_FLAG] !== true) {
      // An HTTP Request node before any login: nothing to authenticate with yet.
      throw new Error(NOT_LOGGED_IN);
    }
    const transport = new Transport({ token, routeTag: fields.routeTag || undefined, botAgent: fields.botAgent || undefined });
    const body = requestOptions.body;
    const jsonBody = body && typeof body === 'object' && !Buffer.isBuffer(body) ? transport.withBaseInfo(body) : body;
    return { ...requestOptions, body: jsonBody as IHttpRequestOptions['body'], headers: { ...(requestOptions.headers ?? {}), ...transport.postHeaders() } };
  };
}
