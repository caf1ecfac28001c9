/**
 * /_admin/...: the admin API over HTTP (JSON in, JSON out) so tests of
 * out-of-process hosts (Node-RED, n8n) can drive the simulator.
 * IDs are JSON strings in answers; in request bodies a uint64 ID may also be
 * a bare number (read exactly, see ADMIN_UINT64_KEYS). See simulator/README.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonUint64Safe, UINT64_KEYS } from '../shared/json';
import type { EndpointName } from '../shared/wire';
import type { SimulatorAdmin } from './admin';
import type { FaultSpec } from './faults';
import { isPlainObject, readBody, sendJson } from './http-util';
import type { LoginScenario } from './login';
import type { RequestFilter } from './request-log';
import type { CdnFault } from './cdn';
import type { InjectMessageOptions, SentRecord } from './state';

type Json = Record<string, unknown>;

/**
 * Keys whose integer values are read as decimal strings from admin request
 * bodies, so IDs above 2^53 stay exact: the wire's uint64 keys (message_id,
 * msg_id, svr_id, e.g. in a raw refMsg) and the admin API's own messageId
 * (quote.messageId).
 */
export const ADMIN_UINT64_KEYS: readonly string[] = [...UINT64_KEYS, 'messageId'];
type AdminHandler = (input: { body: Json; query: URLSearchParams }) => unknown;

export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new AdminHttpError(400, `${name} is required`);
  return value;
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The predicate of POST /_admin/sent/wait: every given field must match. */
export function sentMatcher(body: Json): (record: SentRecord) => boolean {
  const botId = optionalText(body.botId);
  const to = optionalText(body.to);
  const textIncludes = optionalText(body.textIncludes);
  const afterIndex = typeof body.afterIndex === 'number' ? body.afterIndex : -1;
  return (record) =>
    record.index > afterIndex &&
    (botId === undefined || record.botId === botId) &&
    (to === undefined || record.to === to) &&
    (textIncludes === undefined || (record.msg.item_list ?? []).some((item) => item.text_item?.text?.includes(textIncludes)));
}

export function adminRoutes(admin: SimulatorAdmin, info: () => Json): Map<string, AdminHandler> {
  const routes = new Map<string, AdminHandler>();
  const route = (method: string, path: string, handler: AdminHandler): void => {
    routes.set(`${method} ${path}`, handler);
  };

  route('GET', '/_admin/info', () => info());
  route('GET', '/_admin/bots', () => admin.bots());
  route('POST', '/_admin/bots', ({ body }) =>
    admin.createBot({ token: optionalText(body.token), botId: optionalText(body.botId), ownerUserId: optionalText(body.ownerUserId) }),
  );
  route('POST', '/_admin/messages', ({ body }) => admin.injectMessage(body as unknown as InjectMessageOptions));
  route('GET', '/_admin/sent', ({ query }) => admin.sentMessages({ botId: query.get('botId') ?? undefined, to: query.get('to') ?? undefined }));
  route('POST', '/_admin/sent/wait', async ({ body }) => {
    const timeoutMs = typeof body.timeoutMs === 'number' ? body.timeoutMs : 5000;
    try {
      return await admin.waitForSent(sentMatcher(body), timeoutMs);
    } catch (error) {
      throw new AdminHttpError(408, (error as Error).message);
    }
  });
  route('GET', '/_admin/timeline', ({ query }) => admin.timeline(text(query.get('botId'), 'botId')));
  route('POST', '/_admin/faults', ({ body }) => {
    admin.injectFault(body as unknown as FaultSpec);
    return { ok: true };
  });
  route('GET', '/_admin/faults', () => admin.pendingFaults());
  route('POST', '/_admin/cdn-faults', ({ body }) => {
    admin.cdnFault(body as unknown as CdnFault);
    return { ok: true };
  });
  route('POST', '/_admin/expire-session', ({ body }) => {
    admin.expireSession(text(body.botId, 'botId'));
    return { ok: true };
  });
  route('POST', '/_admin/expire-context-token', ({ body }) => {
    admin.expireContextToken(text(body.botId, 'botId'), text(body.userId, 'userId'));
    return { ok: true };
  });
  route('GET', '/_admin/reply-window', ({ query }) => admin.replyWindow(text(query.get('botId'), 'botId'), text(query.get('userId'), 'userId')));
  const clock = (): Json => ({ now: admin.clockNow(), offsetMs: admin.clockOffsetMs() });
  route('GET', '/_admin/clock', () => clock());
  route('POST', '/_admin/clock', ({ body }) => {
    if (typeof body.advanceMs !== 'number') throw new AdminHttpError(400, 'advanceMs must be a number of milliseconds ≥ 0');
    admin.advanceClock(body.advanceMs);
    return clock();
  });
  route('GET', '/_admin/typing', ({ query }) => admin.typingState(text(query.get('botId'), 'botId'), text(query.get('userId'), 'userId')));
  route('GET', '/_admin/notifications', ({ query }) => admin.notifications(text(query.get('botId'), 'botId')));
  route('GET', '/_admin/requests', ({ query }) => {
    const filter: RequestFilter = {};
    const endpoint = query.get('endpoint');
    if (endpoint) filter.endpoint = endpoint as EndpointName;
    for (const key of ['path', 'method', 'botId'] as const) {
      const value = query.get(key);
      if (value) filter[key] = value;
    }
    const listener = query.get('listener');
    if (listener === 'main' || listener === 'redirect') filter.listener = listener;
    return admin.requests(filter);
  });
  route('POST', '/_admin/login-scenario', ({ body }) => {
    admin.setLoginScenario(body as LoginScenario);
    return { ok: true };
  });
  route('POST', '/_admin/api-scenario', ({ body }) => {
    admin.setApiScenario({ uploadFullUrl: body.uploadFullUrl === true });
    return { ok: true };
  });
  route('GET', '/_admin/qr/last', () => ({ qrcode: admin.lastQrcode() ?? null }));
  route('POST', '/_admin/qr/scan', ({ body }) => ({ status: admin.scanQr(text(body.qrcode, 'qrcode'), optionalText(body.userId)) }));
  route('POST', '/_admin/qr/confirm', ({ body }) => ({ status: admin.confirmQr(text(body.qrcode, 'qrcode'), optionalText(body.userId)) }));
  route('POST', '/_admin/qr/cancel', ({ body }) => ({ status: admin.cancelQr(text(body.qrcode, 'qrcode')) }));
  route('GET', '/_admin/qr/verify-code', ({ query }) => ({ verifyCode: admin.verifyCodeFor(text(query.get('qrcode'), 'qrcode')) ?? null }));
  route('POST', '/_admin/reset', () => {
    admin.reset();
    return { ok: true };
  });
  return routes;
}

export async function handleAdminHttp(
  routes: Map<string, AdminHandler>,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  query: URLSearchParams,
): Promise<void> {
  const handler = routes.get(`${req.method ?? 'GET'} ${pathname}`);
  if (!handler) {
    const known = [...routes.keys()].some((key) => key.endsWith(` ${pathname}`));
    sendJson(res, known ? 405 : 404, { error: known ? 'method not allowed' : `no admin route ${pathname}` });
    return;
  }
  try {
    let body: Json = {};
    if (req.method === 'POST') {
      const raw = (await readBody(req)).toString('utf8');
      if (raw.trim() !== '') {
        const parsed: unknown = parseJsonUint64Safe(raw, ADMIN_UINT64_KEYS);
        if (!isPlainObject(parsed)) throw new AdminHttpError(400, 'body must be a JSON object');
        body = parsed;
      }
    }
    const result = await handler({ body, query });
    sendJson(res, 200, result ?? { ok: true });
  } catch (error) {
    const status = error instanceof AdminHttpError ? error.status : 400;
    sendJson(res, status, { error: (error as Error).message });
  }
}
