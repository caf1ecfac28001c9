/**
 * The credential's connection test: one getconfig through the core, with a
 * failure explained in n8n terms (n8n runs it on "Save" and "Retry").
 */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { checkCredentials } from '../../shared/credential-check';
import { clientOptionsFrom, readCredentialFields } from '../../credentials/wechat-ilink-fields';
import { parseLoginStatus } from '../../credentials/wechat-ilink-login-hook';

export const CREDENTIAL_TEST_NAME = 'wechatIlinkApiTest';

export async function testWeChatIlinkCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
  const data = (credential.data ?? {}) as Record<string, unknown>;
  const fields = readCredentialFields(data);
  const options = clientOptionsFrom(fields);
  const result = await checkCredentials({ ...options, ownerUserId: fields.ownerUserId, botId: fields.botId });
  if (result.ok) return { status: 'OK', message: `Connected${fields.botId ? ` as ${fields.botId}` : ''}` };
  if (result.reason === 'no-token') {
    const pending = parseLoginStatus(data.loginStatus);
    const step = pending && pending.state !== 'confirmed' && pending.state !== 'failed' ? ` (a QR login is under way: ${pending.state})` : '';
    return {
      status: 'Error',
      message: `Not logged in yet${step}. Run a WeChat iLink node with "Login" → "Log in (QR Code)" and scan the QR code it outputs, or paste a token from "npx n8n-nodes-wechat-ilink login".`,
    };
  }
  if (result.reason === 'session-expired') {
    return { status: 'Error', message: `Session expired: scan the QR code again. Run "Login" → "Log in (QR Code)" in a WeChat iLink node. (${result.message})` };
  }
  return { status: 'Error', message: result.message };
}
