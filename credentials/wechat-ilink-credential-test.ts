/**
 * The credential's connection test ("Test" in the credential dialog). n8n runs
 * it as a node's `methods.credentialTest` (named by `testedBy` in the nodes'
 * credentials), so that the core's check decides: a declarative test request
 * can only match fixed fields, and let a 200 with another ret pass.
 */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import type { CredentialCheckResult } from '../shared';
import { checkCredentialFields, readCredentialFields } from './wechat-ilink-fields';

/** The name `testedBy` refers to (the nodes spell it out as a literal, which n8n's lint reads). */
export const CREDENTIAL_TEST_NAME = 'wechatIlinkConnection';

const LOG_IN_AGAIN = 'Run a WeChat iLink node with "Login" → "Log in (QR Code)" (or the terminal login) and re-activate your workflows.';

export const NOT_LOGGED_IN =
  'Not logged in yet: run a WeChat iLink node with "Login" → "Log in (QR Code)" and scan the QR code it outputs, or paste a token from "npx n8n-nodes-wechat-ilink login" into Bot Token.';

/** What the dialog shows for a failed check: the core's reason, and the n8n steps that fix it. */
export function credentialTestMessage(check: Exclude<CredentialCheckResult, { ok: true }>): string {
  switch (check.reason) {
    case 'no-token':
      return NOT_LOGGED_IN;
    case 'session-expired':
      return `Session expired: scan the QR code again. ${LOG_IN_AGAIN}`;
    case 'rejected':
      return `${check.message}. ${LOG_IN_AGAIN}`;
    case 'unreachable':
      return check.message; // names the base URL and says to check it
  }
}

export async function testWechatIlinkCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
  const check = await checkCredentialFields(readCredentialFields(credential.data));
  if (check.ok) return { status: 'OK', message: 'Connected: the bot token works.' };
  return { status: 'Error', message: credentialTestMessage(check) };
}

/** For a node's `methods`: the test under the name its `testedBy` gives. */
export const credentialTestMethods = { [CREDENTIAL_TEST_NAME]: testWechatIlinkCredential };
