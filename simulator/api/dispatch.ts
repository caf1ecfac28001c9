/**
 * One API request, start to finish: method, injected faults, header rules
 * (§1), auth, JSON body, base_info, then the endpoint handler. Each step can
 * refuse with the answer a real server would plausibly give.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonUint64Safe } from '../../shared/json';
import type { FaultSpec } from '../faults';
import { apiJson, BodyTooLargeError, isPlainObject, queryObject, readBody, sendText } from '../http-util';
import type { HostKind } from '../login';
import {
  bearerToken,
  firstRefusal,
  refuseGetWithPostHeaders,
  requireAppHeaders,
  requireAuthorizationType,
  requireBaseInfo,
  requireBearer,
  requireJsonContentType,
  requireWechatUin,
  RATE_LIMITED,
  SESSION_TIMEOUT,
  type Body,
  type Refusal,
} from '../rules';
import type { ApiAnswer, EndpointSpec, SimContext } from './types';

export interface ApiRoute {
  spec: EndpointSpec;
  pathname: string;
  query: URLSearchParams;
  host: HostKind;
}

export async function dispatchApi(ctx: SimContext, req: IncomingMessage, res: ServerResponse, route: ApiRoute): Promise<void> {
  const { spec, query } = route;
  const { strict } = ctx.options;
  const method = req.method ?? 'GET';
  const record = ctx.log.add({
    method,
    path: route.pathname,
    query: queryObject(query),
    headers: { ...req.headers },
    time: Date.now(),
    listener: route.host,
    endpoint: spec.name,
  });

  // Before 2.3.1 get_bot_qrcode was a bodiless GET; still accepted by the real server (§8 #1), so lenient mode takes it.
  const legacyQrGet = !strict && spec.name === 'getBotQrcode' && method === 'GET';
  if (method !== spec.method && !legacyQrGet) {
    res.setHeader('Allow', spec.method);
    sendText(res, 405, 'Method Not Allowed');
    return;
  }

  let raw: Buffer;
  try {
    raw = await readBody(req);
  } catch (error) {
    if (error instanceof BodyTooLargeError) sendText(res, 413, 'Payload Too Large');
    else res.destroy();
    return;
  }
  const rawBody = raw.toString('utf8');
  if (method === 'POST') record.rawBody = rawBody;

  const fault = ctx.faults.take(spec.name);
  if (fault) {
    const handled = await applyFault(ctx, res, fault);
    if (handled) return;
  }
  const slowBody = fault?.kind === 'slowBody' ? fault : undefined;

  const refusal = method === 'GET' ? checkGetHeaders(ctx, spec, legacyQrGet, req) : checkPostHeaders(ctx, req);
  if (refusal) return writeAnswer(ctx, res, refusal, slowBody);

  let bot;
  if (spec.auth) {
    const missing = requireBearer(req.headers);
    if (missing) return writeAnswer(ctx, res, missing, slowBody);
    const found = ctx.state.lookupToken(bearerToken(req.headers) ?? '');
    if (found.kind === 'invalid') return writeAnswer(ctx, res, SESSION_TIMEOUT, slowBody);
    bot = found.bot;
    record.botId = bot.botId;
  }

  let body: Body = {};
  if (method === 'POST') {
    const parsed = parseBody(rawBody, strict);
    if (parsed === undefined) return writeAnswer(ctx, res, { status: 400, body: { ret: -1, errmsg: 'body is not a JSON object' } }, slowBody);
    body = parsed;
    record.body = structuredClone(body);
    if (strict && spec.name !== 'getBotQrcode') {
      const noBaseInfo = requireBaseInfo(body);
      if (noBaseInfo) return writeAnswer(ctx, res, noBaseInfo, slowBody);
    }
  }

  let answer: ApiAnswer;
  try {
    answer = await spec.handle({ ctx, req, res, host: route.host, query, body, rawBody, bot, record });
  } catch (error) {
    // Never echo request data here: it may hold a token.
    console.error(`[ilink-sim] ${spec.name} failed: ${(error as Error).message}`);
    answer = { status: 500, body: { ret: -1, errmsg: `simulator error: ${(error as Error).message}` } };
  }
  if (answer) await writeAnswer(ctx, res, answer, slowBody);
}

function checkPostHeaders(ctx: SimContext, req: IncomingMessage): Refusal | undefined {
  const { headers } = req;
  return firstRefusal(
    () => requireJsonContentType(headers),
    () => requireAuthorizationType(headers),
    () => (ctx.options.strict ? requireAppHeaders(headers) : undefined),
    () => (ctx.options.strict ? requireWechatUin(headers) : undefined),
  );
}

function checkGetHeaders(ctx: SimContext, spec: EndpointSpec, legacyQrGet: boolean, req: IncomingMessage): Refusal | undefined {
  if (!ctx.options.strict || legacyQrGet || spec.name !== 'getQrcodeStatus') return undefined;
  return firstRefusal(
    () => requireAppHeaders(req.headers),
    () => refuseGetWithPostHeaders(req.headers),
  );
}

/** A JSON object (uint64 IDs as strings), or undefined. Lenient mode reads an empty body as {}. */
function parseBody(rawBody: string, strict: boolean): Body | undefined {
  if (!strict && rawBody.trim() === '') return {};
  try {
    const parsed = parseJsonUint64Safe<unknown>(rawBody);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Applies a fault; true when the request is fully handled by it. */
async function applyFault(ctx: SimContext, res: ServerResponse, fault: FaultSpec): Promise<boolean> {
  switch (fault.kind) {
    case 'drop':
      res.socket?.destroy();
      return true;
    case 'http5xx':
      sendText(res, fault.status ?? 500, 'Internal Server Error');
      return true;
    case 'malformed':
      sendText(res, 200, '{"ret":0,"msgs":[{"message_id":', 'application/json');
      return true;
    case 'errcode-14':
      await writeAnswer(ctx, res, SESSION_TIMEOUT);
      return true;
    case 'ret-2':
      await writeAnswer(ctx, res, { status: 200, body: { ret: -2, errmsg: 'injected fault' } });
      return true;
    case 'ret':
      await writeAnswer(ctx, res, { status: 200, body: { ret: fault.ret ?? -1, errmsg: 'injected fault' } });
      return true;
    case 'rate-limited':
      // sendMessage only (§10 "Rate limit"): the real server's body; the send does not count for the sending rules.
      await writeAnswer(ctx, res, RATE_LIMITED);
      return true;
    case 'delay': {
      const outcome = await ctx.waits.delay(fault.delayMs ?? 1000, res);
      return outcome === 'closed' || outcome === 'stopped';
    }
    case 'slowBody':
      return false;
    case 'duplicate':
      // Armed by FaultBook.take; getupdates applies it to the next answer that carries messages.
      return false;
  }
}

/** Writes the JSON answer; a slowBody fault dribbles it out in pieces. */
async function writeAnswer(ctx: SimContext, res: ServerResponse, answer: NonNullable<ApiAnswer>, slowBody?: FaultSpec): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(apiJson(answer.body), 'utf8');
  res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  if (!slowBody) {
    res.end(body);
    return;
  }
  const pieces = 5;
  const size = Math.ceil(body.length / pieces);
  for (let offset = 0; offset < body.length; offset += size) {
    if (offset > 0) {
      const outcome = await ctx.waits.delay(slowBody.delayMs ?? 200, res);
      if (outcome !== 'timeout') return;
    }
    res.write(body.subarray(offset, offset + size));
  }
  res.end();
}
