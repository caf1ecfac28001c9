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
import type { RecordedRequest } from '../request-log';
import type { BotInfo } from '../state';
import type { ApiAnswer, ApiCall, EndpointSpec, SimContext } from './types';

export interface ApiRoute {
  spec: EndpointSpec;
  pathname: string;
  query: URLSearchParams;
  host: HostKind;
}

/** Takes one API request through the steps in order; the first step that refuses writes the answer. */
export async function dispatchApi(ctx: SimContext, req: IncomingMessage, res: ServerResponse, route: ApiRoute): Promise<void> {
  const { spec } = route;
  const method = req.method ?? 'GET';
  const record = recordRequest(ctx, req, route, method);
  const legacyQrGet = isLegacyQrGet(ctx, spec, method);
  if (refusedMethod(res, spec, method, legacyQrGet)) return;
  const rawBody = await readRawBody(req, res);
  if (rawBody === undefined) return;
  if (method === 'POST') record.rawBody = rawBody;

  const fault = ctx.faults.take(spec.name);
  if (fault && (await applyFault(ctx, res, fault))) return;
  const slowBody = fault?.kind === 'slowBody' ? fault : undefined;
  const answer = (reply: NonNullable<ApiAnswer>) => writeAnswer(ctx, res, reply, slowBody);

  const refusal = method === 'GET' ? checkGetHeaders(ctx, spec, legacyQrGet, req) : checkPostHeaders(ctx, req);
  if (refusal) return answer(refusal);
  const auth = authenticate(ctx, spec, req, record);
  if (auth.refusal) return answer(auth.refusal);
  const parsed = method === 'POST' ? readJsonBody(ctx, spec, rawBody, record) : { body: {} };
  if (parsed.refusal) return answer(parsed.refusal);

  const reply = await runHandler(spec, { ctx, req, res, host: route.host, query: route.query, body: parsed.body, rawBody, bot: auth.bot, record });
  if (reply) await answer(reply);
}

/** Logs the request as it arrived (body and bot are added once known). */
function recordRequest(ctx: SimContext, req: IncomingMessage, route: ApiRoute, method: string): RecordedRequest {
  return ctx.log.add({
    method,
    path: route.pathname,
    query: queryObject(route.query),
    headers: { ...req.headers },
    time: Date.now(),
    listener: route.host,
    endpoint: route.spec.name,
  });
}

/** Before 2.3.1 get_bot_qrcode was a bodiless GET; still accepted by the real server (§8 #1), so lenient mode takes it. */
function isLegacyQrGet(ctx: SimContext, spec: EndpointSpec, method: string): boolean {
  return !ctx.options.strict && spec.name === 'getBotQrcode' && method === 'GET';
}

/** Answers 405 for a method the endpoint does not take; true when it did. */
function refusedMethod(res: ServerResponse, spec: EndpointSpec, method: string, legacyQrGet: boolean): boolean {
  if (method === spec.method || legacyQrGet) return false;
  res.setHeader('Allow', spec.method);
  sendText(res, 405, 'Method Not Allowed');
  return true;
}

/** The body as text; undefined when it was too large (413) or the connection broke. */
async function readRawBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  try {
    return (await readBody(req)).toString('utf8');
  } catch (error) {
    if (error instanceof BodyTooLargeError) sendText(res, 413, 'Payload Too Large');
    else res.destroy();
    return undefined;
  }
}

/** The bot of the bearer token, for endpoints that need one; a refusal when it is missing or invalid. */
function authenticate(ctx: SimContext, spec: EndpointSpec, req: IncomingMessage, record: RecordedRequest): { bot?: BotInfo; refusal?: Refusal } {
  if (!spec.auth) return {};
  const missing = requireBearer(req.headers);
  if (missing) return { refusal: missing };
  const found = ctx.state.lookupToken(bearerToken(req.headers) ?? '');
  if (found.kind === 'invalid') return { refusal: SESSION_TIMEOUT };
  record.botId = found.bot.botId;
  return { bot: found.bot };
}

/** A POST body as a JSON object with base_info (strict, except get_bot_qrcode); a refusal otherwise. */
function readJsonBody(ctx: SimContext, spec: EndpointSpec, rawBody: string, record: RecordedRequest): { body: Body; refusal?: Refusal } {
  const { strict } = ctx.options;
  const body = parseBody(rawBody, strict);
  if (body === undefined) return { body: {}, refusal: { status: 400, body: { ret: -1, errmsg: 'body is not a JSON object' } } };
  record.body = structuredClone(body);
  const noBaseInfo = strict && spec.name !== 'getBotQrcode' ? requireBaseInfo(body) : undefined;
  return noBaseInfo ? { body, refusal: noBaseInfo } : { body };
}

/** The endpoint's answer; a handler that throws answers 500 (never echoing request data: it may hold a token). */
async function runHandler(spec: EndpointSpec, call: ApiCall): Promise<ApiAnswer> {
  try {
    return await spec.handle(call);
  } catch (error) {
    console.error(`[ilink-sim] ${spec.name} failed: ${(error as Error).message}`);
    return { status: 500, body: { ret: -1, errmsg: `simulator error: ${(error as Error).message}` } };
  }
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
