/** Shared types of the API layer: what a handler gets and what it answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EndpointName } from '../../shared/wire';
import type { SimCdn } from '../cdn';
import type { FaultBook } from '../faults';
import type { HostKind, LoginService } from '../login';
import type { ResolvedOptions } from '../options';
import type { RecordedRequest, RequestLog } from '../request-log';
import type { Body } from '../rules';
import type { BotInfo, SimState } from '../state';
import type { Waits } from '../waits';

/** Options for the getupdates/getuploadurl side of the API (admin.setApiScenario). */
export interface ApiScenario {
  /** getuploadurl also answers upload_full_url (§7 step 5: the client must prefer it). */
  uploadFullUrl?: boolean;
}

export interface SimUrls {
  /** http://host:port of the main listener. */
  site(): string;
  /** site + basePath, without a trailing slash: what `confirmed` answers as baseurl. */
  accountBase(): string;
  /** site + basePath + '/c2c'. */
  cdnBase(): string;
  /** host:port of the second listener (scaned_but_redirect). */
  redirectHost(): string;
}

export interface SimContext {
  options: ResolvedOptions;
  state: SimState;
  login: LoginService;
  faults: FaultBook;
  log: RequestLog;
  waits: Waits;
  cdn: SimCdn;
  apiScenario: ApiScenario;
  urls: SimUrls;
}

export interface ApiCall {
  ctx: SimContext;
  req: IncomingMessage;
  res: ServerResponse;
  host: HostKind;
  query: URLSearchParams;
  /** Parsed JSON body ({} for GET); uint64 IDs are strings. */
  body: Body;
  rawBody: string;
  /** The authenticated bot (endpoints with auth only). */
  bot: BotInfo | undefined;
  record: RecordedRequest;
}

/** HTTP status (default 200) and JSON body; undefined = write nothing (client gone or simulator stopping). */
export type ApiAnswer = { status?: number; body: unknown } | undefined;

export interface EndpointSpec {
  name: EndpointName;
  method: 'GET' | 'POST';
  /** Needs `Authorization: Bearer <bot_token>`. */
  auth: boolean;
  handle(call: ApiCall): ApiAnswer | Promise<ApiAnswer>;
}

export function ok(body: Record<string, unknown> = {}): ApiAnswer {
  return { body: { ret: 0, ...body } };
}

/** The authenticated bot; only called by endpoints declared with auth. */
export function authedBot(call: ApiCall): BotInfo {
  if (!call.bot) throw new Error(`${call.record.endpoint} ran without an authenticated bot`);
  return call.bot;
}
