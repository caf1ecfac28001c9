/**
 * Test helpers: talk to the simulator exactly as the official client does
 * (§1 headers), with undici's request and nothing from the client core.
 */
import { request } from 'undici';
import { parseJsonUint64Safe } from '../../shared/json';
import { Endpoint, type EndpointName } from '../../shared/wire';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';

export const BASE_INFO = { channel_version: '2.4.9', bot_agent: 'SimTest/1.0' };

/** 3735928559 → "MzczNTkyODU1OQ==" (§1). */
export function wechatUin(value = Math.floor(Math.random() * 0xffffffff)): string {
  return Buffer.from(String(value), 'utf8').toString('base64');
}

export function postHeaders(token?: string): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    AuthorizationType: 'ilink_bot_token',
    'X-WECHAT-UIN': wechatUin(),
    'iLink-App-Id': 'bot',
    'iLink-App-ClientVersion': '132105',
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export const GET_HEADERS: Record<string, string> = { 'iLink-App-Id': 'bot', 'iLink-App-ClientVersion': '132105' };

export interface ApiResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed with uint64 IDs as strings; undefined when the body is not JSON. */
  json: Record<string, any> | undefined;
}

async function toResult(response: Awaited<ReturnType<typeof request>>): Promise<ApiResult> {
  const text = await response.body.text();
  let json: Record<string, any> | undefined;
  try {
    json = parseJsonUint64Safe(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

export interface PostOptions {
  token?: string;
  /** Replaces the default headers entirely. */
  headers?: Record<string, string>;
  /** Header names to leave out of the defaults. */
  omit?: string[];
  /** Raw body text instead of JSON.stringify(body). */
  raw?: string;
  method?: 'POST' | 'GET' | 'PUT';
  baseUrl?: string;
  query?: string;
  signal?: AbortSignal;
}

/** POST an endpoint with the official headers; body gets base_info unless it is get_bot_qrcode or raw. */
export async function callApi(sim: Simulator, endpoint: EndpointName, body: Record<string, unknown> = {}, options: PostOptions = {}): Promise<ApiResult> {
  let headers = options.headers ?? postHeaders(options.token);
  if (options.omit) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !options.omit?.includes(name)));
  const payload = options.raw ?? JSON.stringify(endpoint === 'getBotQrcode' ? body : { base_info: BASE_INFO, ...body });
  const url = new URL(Endpoint[endpoint] + (options.query ?? ''), options.baseUrl ?? sim.apiBaseUrl);
  const response = await request(url, { method: options.method ?? 'POST', headers, body: options.method === 'GET' ? undefined : payload, signal: options.signal });
  return toResult(response);
}

/** A body without base_info (to test the base_info rule or lenient mode). */
export async function callApiBare(sim: Simulator, endpoint: EndpointName, body: Record<string, unknown>, options: PostOptions = {}): Promise<ApiResult> {
  return callApi(sim, endpoint, {}, { ...options, raw: options.raw ?? JSON.stringify(body) });
}

export async function getQrStatus(
  sim: Simulator,
  qrcode: string,
  options: { verifyCode?: string; baseUrl?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<ApiResult> {
  const url = new URL(Endpoint.getQrcodeStatus, options.baseUrl ?? sim.apiBaseUrl);
  url.searchParams.set('qrcode', qrcode);
  if (options.verifyCode !== undefined) url.searchParams.set('verify_code', options.verifyCode);
  const response = await request(url, { method: 'GET', headers: options.headers ?? GET_HEADERS, signal: options.signal });
  return toResult(response);
}

export async function getQrcode(sim: Simulator, localTokens: string[] = []): Promise<{ qrcode: string; qrcode_img_content: string }> {
  const result = await callApi(sim, 'getBotQrcode', { local_token_list: localTokens }, { query: '?bot_type=3' });
  if (result.status !== 200 || !result.json?.qrcode) throw new Error(`get_bot_qrcode failed: ${result.status} ${result.text}`);
  return result.json as { qrcode: string; qrcode_img_content: string };
}

/** Plain HTTP to the simulator's own pages and admin API. */
export async function http(url: string, options: { method?: string; json?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResult> {
  const response = await request(url, {
    method: (options.method ?? (options.json === undefined ? 'GET' : 'POST')) as 'GET',
    headers: options.json === undefined ? options.headers : { 'Content-Type': 'application/json', ...options.headers },
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
  return toResult(response);
}

/** A text message as the official client sends it (§6). */
export function textMessage(to: string, contextToken: string | undefined, text = 'hello'): Record<string, unknown> {
  return {
    msg: {
      from_user_id: '',
      to_user_id: to,
      client_id: `simtest:${Date.now()}-${Math.random().toString(16).slice(2, 10)}`,
      message_type: 2,
      message_state: 2,
      context_token: contextToken,
      item_list: [{ type: 1, text_item: { text } }],
    },
  };
}

/** Starts a simulator for the duration of a describe block. */
export function useSimulator(options: SimulatorOptions = {}): () => Simulator {
  let sim: Simulator | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ longPollTimeoutMs: 400, ...options });
  });
  afterEach(() => sim?.admin.reset());
  afterAll(async () => {
    await sim?.stop();
  });
  return () => {
    if (!sim) throw new Error('simulator not started');
    return sim;
  };
}

export function elapsedSince(start: number): number {
  return Date.now() - start;
}
