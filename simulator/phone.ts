/**
 * The simulated phone (§3). The QR code's image content is the URL of
 * GET /phone/<qrcode>: opening it is scanning it. The page then confirms or
 * cancels through POST /_phone/<qrcode>/confirm|cancel (also usable by tests).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPlainObject, readBody, sendJson, sendText } from './http-util';
import { DEFAULT_PHONE_USER, type LoginService } from './login';
import { fillTemplate, readPublicText } from './static';

export async function servePhonePage(login: LoginService, res: ServerResponse, qrcode: string): Promise<void> {
  if (!login.phoneView(qrcode)) return sendText(res, 404, '二维码不存在 / Unknown QR code');
  login.scan(qrcode);
  const view = login.phoneView(qrcode);
  if (!view) return sendText(res, 404, '二维码不存在 / Unknown QR code');
  const template = await readPublicText('phone.html');
  const html = fillTemplate(template, {
    QRCODE: view.qrcode,
    STATUS: view.status,
    USER_ID: view.userId ?? DEFAULT_PHONE_USER,
    VERIFY_CODE: view.verifyCode ?? '',
    VERIFY_HIDDEN: view.verifyCode ? '' : 'hidden',
  });
  sendText(res, 200, html, 'text/html; charset=utf-8');
}

/** GET /_phone/<qrcode> (state) and POST /_phone/<qrcode>/scan|confirm|cancel with JSON {userId?}. */
export async function handlePhoneAction(login: LoginService, req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
  const [qrcode, action] = rest.split('/');
  if (!qrcode || !login.phoneView(qrcode)) return sendJson(res, 404, { error: 'unknown QR code' });
  if (req.method === 'GET' && action === undefined) return sendJson(res, 200, login.phoneView(qrcode));
  if (req.method !== 'POST' || !['scan', 'confirm', 'cancel'].includes(action ?? '')) return sendJson(res, 404, { error: 'unknown phone action' });
  try {
    const raw = (await readBody(req)).toString('utf8');
    const body: unknown = raw.trim() ? JSON.parse(raw) : {};
    const userId = isPlainObject(body) && typeof body.userId === 'string' && body.userId.trim() ? body.userId.trim() : undefined;
    const status = action === 'scan' ? login.scan(qrcode, userId) : action === 'confirm' ? login.confirm(qrcode, userId) : login.cancel(qrcode);
    sendJson(res, 200, { status });
  } catch (error) {
    sendJson(res, 409, { error: (error as Error).message, status: login.phoneView(qrcode)?.status });
  }
}
