/**
 * "Log in (QR code)": drives the credential's preAuthentication hook one step
 * per authenticated request, reads the credential back, and outputs the QR
 * code (PNG) and the state. Never the token: it stays in the credential.
 */
import { NodeApiError, NodeOperationError, sleep, type IDataObject, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { Endpoint, EndpointTimeoutMs, joinUrl, parseLoginTicket, QR_POLL_GAP_MS, renderQrPng } from '../../../../shared';
import { checkCredentialFields, CREDENTIAL_NAME, readCredentialFields } from '../../../../credentials/wechat-ilink-fields';
import { LOGIN_RESTART_FLAG, LOGIN_STEP_FLAG, parseLoginStatus, type LoginStatusSummary } from '../../../../credentials/wechat-ilink-login-hook';
import { toNodeError } from '../../../common/node-errors';
import type { Operation, OperationContext } from '../../operation-context';

const showOnlyForLoginQr = { show: { resource: ['login'], operation: ['qrLogin'] } };

export const qrLoginDescription: INodeProperties[] = [
  {
    displayName:
      'Run this node: it outputs a QR code image (binary "qrCode"). Scan it with WeChat, then run the node again: it waits for you to confirm on the phone and stores the token in the credential. Turn off saving manual executions if you do not want the QR image kept.',
    name: 'loginNotice',
    type: 'notice',
    default: '',
    displayOptions: showOnlyForLoginQr,
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add option',
    default: {},
    displayOptions: showOnlyForLoginQr,
    options: [
      {
        displayName: 'Start Over',
        name: 'startOver',
        type: 'boolean',
        default: false,
        description: 'Whether to start a new login even if the bot is logged in or a QR code is pending (the stored token is dropped)',
      },
      {
        displayName: 'Verification Number',
        name: 'verifyCode',
        type: 'string',
        default: '',
        description: 'The number WeChat shows on the phone, when it asks for one (or type it in the credential)',
      },
      {
        displayName: 'Wait (Seconds)',
        name: 'waitSeconds',
        type: 'number',
        typeOptions: { minValue: 0, maxValue: 300 },
        default: 60,
        description: 'How long one run waits for the scan and the confirmation before it reports the state',
      },
    ],
  },
];

interface LoginOptions {
  startOver?: boolean;
  verifyCode?: string;
  waitSeconds?: number;
}

const QR_BINARY_PROPERTY = 'qrCode';

export const qrLogin: Operation = async (ctx) => {
  const options = (ctx.exec.getNodeParameter('options', ctx.itemIndex, {}) ?? {}) as LoginOptions;
  let stored = await readStored(ctx);
  let fields = readCredentialFields(stored);

  if (fields.botToken) {
    const check = await checkCredentialFields(fields);
    return result({
      connected: check.ok,
      state: 'manual-token',
      message: `This credential uses a bot token typed in by hand (${check.ok ? 'it works' : check.message}). Clear "Bot Token" in the credential to log in with a QR code.`,
    });
  }

  let restart = options.startOver === true;
  if (fields.loginToken && !restart) {
    const check = await checkCredentialFields(fields);
    if (check.ok) return connected(fields.botId, fields.ownerUserId, 'Already logged in: the bot token works.');
    if (check.reason !== 'session-expired') {
      throw new NodeApiError(ctx.exec.getNode(), { message: check.message }, { message: check.message, itemIndex: ctx.itemIndex });
    }
    restart = true; // the session is gone: a new QR code
  }

  const deadline = Date.now() + Math.max(0, options.waitSeconds ?? 60) * 1000;
  for (;;) {
    await runLoginStep(ctx, stored, { restart, verifyCode: options.verifyCode?.trim() || fields.verifyCode });
    restart = false;
    stored = await readStored(ctx);
    fields = readCredentialFields(stored);
    const status = parseLoginStatus(stored.loginStatus);
    if (!status) throw new NodeOperationError(ctx.exec.getNode(), 'the login step stored no state; check that the node uses a WeChat iLink API credential', { itemIndex: ctx.itemIndex });

    if (status.state === 'confirmed' && fields.loginToken) {
      return connected(fields.botId, fields.ownerUserId, 'Logged in. The token is stored in the credential; activate your workflows now.');
    }
    if (status.state === 'failed') {
      return result({ connected: false, state: 'failed', error: status.error ?? 'the login failed', message: 'Run this node again to start a new login.' });
    }
    if (status.state === 'verify-code') {
      return result({
        connected: false,
        state: 'verify-code',
        wrongCode: status.wrongCode === true,
        message: status.wrongCode
          ? 'That number was wrong. Type the number shown on the phone in "Verification Number" and run this node again.'
          : 'WeChat shows a number on the phone: type it in "Verification Number" (in this node\'s options or the credential) and run this node again.',
        expiresAt: iso(status.expiresAt),
      });
    }
    // A new QR code must be seen before anyone can scan it: report at once.
    if (status.qrChanged || Date.now() >= deadline) return withQr(ctx, stored, status);
    // §3: a gap between status polls, even when the server answers at once.
    await sleep(QR_POLL_GAP_MS);
  }
};

async function readStored(ctx: OperationContext): Promise<Record<string, unknown>> {
  return (await ctx.exec.getCredentials(CREDENTIAL_NAME, ctx.itemIndex)) as Record<string, unknown>;
}

/**
 * n8n runs the credential's preAuthentication hook inside an authenticated
 * request when the expirable token is empty, and stores what the hook returns.
 * Handing the request an empty token makes the hook run exactly when we want;
 * the request itself (a getconfig) only matters once the token is there.
 */
async function runLoginStep(ctx: OperationContext, stored: Record<string, unknown>, step: { restart: boolean; verifyCode: string }): Promise<void> {
  const node = ctx.exec.getNode();
  const reference = node.credentials?.[CREDENTIAL_NAME];
  const fields = readCredentialFields(stored);
  const before = parseLoginStatus(stored.loginStatus)?.updatedAt;
  const data = { ...stored, loginToken: '', verifyCode: step.verifyCode, [LOGIN_STEP_FLAG]: true, [LOGIN_RESTART_FLAG]: step.restart };
  try {
    await ctx.exec.helpers.httpRequestWithAuthentication.call(
      ctx.exec,
      CREDENTIAL_NAME,
      {
        method: 'POST',
        url: joinUrl(fields.baseUrl, Endpoint.getConfig).toString(),
        body: { ilink_user_id: fields.ownerUserId },
        json: true,
        ignoreHttpStatusErrors: true,
        timeout: EndpointTimeoutMs.getConfig,
      },
      { credentialsDecrypted: { id: reference?.id ?? '', name: reference?.name ?? '', type: CREDENTIAL_NAME, data } },
    );
  } catch (error) {
    // The check request may fail after the hook did its work; only a failed hook matters.
    const after = parseLoginStatus((await readStored(ctx)).loginStatus)?.updatedAt;
    if (after !== undefined && after !== before) return;
    throw toNodeError(node, error, ctx.itemIndex);
  }
}

function iso(ms: number | undefined): string | undefined {
  return ms ? new Date(ms).toISOString() : undefined;
}

function result(json: IDataObject): INodeExecutionData {
  for (const key of Object.keys(json)) if (json[key] === undefined) delete json[key];
  return { json };
}

function connected(botId: string, ownerUserId: string, message: string): INodeExecutionData {
  return result({ connected: true, state: 'connected', botId, ownerUserId, message });
}

async function withQr(ctx: OperationContext, stored: Record<string, unknown>, status: LoginStatusSummary): Promise<INodeExecutionData> {
  const ticket = parseLoginTicket(stored.loginTicket);
  const scanned = status.state === 'scanned';
  const json: IDataObject = {
    connected: false,
    state: status.state,
    qrIndex: status.qrIndex,
    expiresAt: iso(status.expiresAt),
    message: scanned
      ? 'Scanned: confirm the login on the phone, then run this node again.'
      : `Scan the QR code (binary "${QR_BINARY_PROPERTY}") with WeChat, then run this node again.`,
  };
  if (scanned || !ticket) return result(json);
  const png = await renderQrPng(ticket.content);
  const binary = await ctx.exec.helpers.prepareBinaryData(png, 'wechat-login-qr.png', 'image/png');
  return { ...result(json), binary: { [QR_BINARY_PROPERTY]: binary } };
}
