/**
 * A local iLink server that behaves like the real one, strictly, so the
 * client core and the host nodes can be developed and tested offline.
 * See simulator/README.md and /work/shared/ilink-protocol.md.
 */
import { SimulatorAdmin } from './admin';
import type { SimContext, SimUrls } from './api/types';
import { SimCdn } from './cdn';
import { SimClock } from './clock';
import { FaultBook } from './faults';
import { LoginService } from './login';
import { QR_STATUS_MAX_HOLD_MS, resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options';
import { RequestLog } from './request-log';
import { closeListener, createRouter, listen, type Router, type RunningListener } from './server';
import { SimState } from './state';
import { Waits } from './waits';

export type { SimulatorOptions } from './options';
export { SimulatorAdmin } from './admin';
export type { LoginScenario } from './login';
export type { FaultSpec, FaultKind, PendingFault } from './faults';
export type { RecordedRequest, RequestFilter } from './request-log';
export type { BotInfo, CreateBotOptions, Delivery, InjectMessageOptions, InjectedMessage, QuoteById, SentRecord, TypingState, NotificationRecord, TimelineEntry } from './state';
export type { ApiScenario } from './api/types';
export type { ClockSource } from './clock';
export type { RateLimit, ReplyWindowView } from './send-rules';
export { SimCdn } from './cdn';

export interface Simulator {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** url + basePath + '/' */
  readonly apiBaseUrl: string;
  /** url + basePath + '/c2c' */
  readonly cdnBaseUrl: string;
  /** The chat page. */
  readonly chatUrl: string;
  /** The second listener used by the scaned_but_redirect scenario (§3), http://127.0.0.1:PORT2 */
  readonly redirectUrl: string;
  readonly options: Readonly<ResolvedOptions>;
  readonly admin: SimulatorAdmin;
  readonly cdn: SimCdn;
  /** Ends pending long polls and closes every socket. */
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The listeners' ports: known once they are up, read by the URLs on every call. */
interface Ports {
  main: number;
  redirect: number;
}

function simulatorUrls(resolved: ResolvedOptions, ports: Ports): SimUrls {
  const hostForUrls = urlHost(resolved.host);
  const site = (): string => `http://${hostForUrls}:${ports.main}`;
  const accountBase = (): string => `${site()}${resolved.basePath}`;
  return {
    site,
    accountBase,
    cdnBase: () => `${accountBase()}/c2c`,
    redirectHost: () => `${hostForUrls}:${ports.redirect}`,
  };
}

/** The state, login, faults, log and CDN that every request handler shares. */
function createContext(options: SimulatorOptions, resolved: ResolvedOptions, urls: SimUrls): SimContext {
  const waits = new Waits();
  const state = new SimState({
    clock: new SimClock(options.clock),
    replyWindowMs: resolved.replyWindowMs,
    sendsPerInbound: resolved.sendsPerInbound,
    rateLimit: resolved.rateLimit,
    typingDisplayMs: resolved.typingDisplayMs,
    replay: resolved.replay,
    idOnlyQuotes: resolved.idOnlyQuotes,
    accountBaseUrl: urls.accountBase,
  });
  const login = new LoginService({
    state,
    waits,
    qrExpireMs: resolved.qrExpireMs,
    statusHoldMs: Math.min(QR_STATUS_MAX_HOLD_MS, resolved.longPollTimeoutMs),
    siteUrl: urls.site,
    accountBaseUrl: urls.accountBase,
    redirectHost: urls.redirectHost,
  });
  return {
    options: resolved,
    state,
    login,
    faults: new FaultBook(),
    log: new RequestLog(),
    waits,
    cdn: new SimCdn({ strict: resolved.strict }),
    apiScenario: {},
    urls,
  };
}

/** The addresses a client needs, from the URLs as they are now. */
function addresses(urls: SimUrls): Pick<Simulator, 'url' | 'apiBaseUrl' | 'cdnBaseUrl' | 'chatUrl' | 'redirectUrl'> {
  return {
    url: urls.site(),
    apiBaseUrl: `${urls.accountBase()}/`,
    cdnBaseUrl: urls.cdnBase(),
    chatUrl: `${urls.site()}/chat`,
    redirectUrl: `http://${urls.redirectHost()}`,
  };
}

/** GET /_admin/info: the addresses and the mode. */
function adminInfo(resolved: ResolvedOptions, urls: SimUrls): Record<string, unknown> {
  return {
    ...addresses(urls),
    strict: resolved.strict,
    longPollTimeoutMs: resolved.longPollTimeoutMs,
    replay: resolved.replay,
    idOnlyQuotes: resolved.idOnlyQuotes,
    replyWindowMs: resolved.replyWindowMs,
    sendsPerInbound: resolved.sendsPerInbound,
    rateLimit: resolved.rateLimit,
  };
}

/** The main listener, then the redirect one (no base path, §3); on a failure neither stays open. */
async function startListeners(router: Router, resolved: ResolvedOptions, ports: Ports): Promise<RunningListener[]> {
  const listeners: RunningListener[] = [];
  try {
    const main = await listen(router, { host: 'main', basePath: resolved.basePath }, resolved.port, resolved.host);
    listeners.push(main);
    ports.main = main.port;
    const redirect = await listen(router, { host: 'redirect', basePath: '' }, 0, resolved.host);
    listeners.push(redirect);
    ports.redirect = redirect.port;
  } catch (error) {
    await Promise.all(listeners.map(closeListener));
    throw error;
  }
  return listeners;
}

/** Ends pending long polls and QR holds, then closes every listener; once, however often it is called. */
function stopOnce(ctx: SimContext, listeners: RunningListener[]): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      ctx.waits.stopAll();
      ctx.login.stop();
      await Promise.all(listeners.map(closeListener));
    })();
    return stopping;
  };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const ports: Ports = { main: 0, redirect: 0 };
  const urls = simulatorUrls(resolved, ports);
  const ctx = createContext(options, resolved, urls);
  const admin = new SimulatorAdmin(ctx);
  const router = createRouter(ctx, admin, () => adminInfo(resolved, urls));
  const listeners = await startListeners(router, resolved, ports);
  return { ...addresses(urls), options: resolved, admin, cdn: ctx.cdn, stop: stopOnce(ctx, listeners) };
}
