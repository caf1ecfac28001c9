/**
 * A local iLink server that behaves like the real one, strictly, so the
 * client core and the host nodes can be developed and tested offline.
 * See simulator/README.md and /work/shared/ilink-protocol.md.
 */
import { SimulatorAdmin } from './admin';
import type { ApiScenario, SimContext } from './api/types';
import { SimCdn } from './cdn';
import { SimClock } from './clock';
import { FaultBook } from './faults';
import { LoginService } from './login';
import { QR_STATUS_MAX_HOLD_MS, resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options';
import { RequestLog } from './request-log';
import { closeListener, createRouter, listen, type RunningListener } from './server';
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

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const hostForUrls = urlHost(resolved.host);
  let mainPort = 0;
  let redirectPort = 0;
  const site = (): string => `http://${hostForUrls}:${mainPort}`;
  const accountBase = (): string => `${site()}${resolved.basePath}`;

  const waits = new Waits();
  const state = new SimState({
    clock: new SimClock(options.clock),
    replyWindowMs: resolved.replyWindowMs,
    sendsPerInbound: resolved.sendsPerInbound,
    rateLimit: resolved.rateLimit,
    typingDisplayMs: resolved.typingDisplayMs,
    replay: resolved.replay,
    idOnlyQuotes: resolved.idOnlyQuotes,
    accountBaseUrl: accountBase,
  });
  const login = new LoginService({
    state,
    waits,
    qrExpireMs: resolved.qrExpireMs,
    statusHoldMs: Math.min(QR_STATUS_MAX_HOLD_MS, resolved.longPollTimeoutMs),
    siteUrl: site,
    accountBaseUrl: accountBase,
    redirectHost: () => `${hostForUrls}:${redirectPort}`,
  });
  const apiScenario: ApiScenario = {};
  const ctx: SimContext = {
    options: resolved,
    state,
    login,
    faults: new FaultBook(),
    log: new RequestLog(),
    waits,
    cdn: new SimCdn({ strict: resolved.strict }),
    apiScenario,
    urls: {
      site,
      accountBase,
      cdnBase: () => `${accountBase()}/c2c`,
      redirectHost: () => `${hostForUrls}:${redirectPort}`,
    },
  };
  const admin = new SimulatorAdmin(ctx);
  const info = (): Record<string, unknown> => ({
    url: site(),
    apiBaseUrl: `${accountBase()}/`,
    cdnBaseUrl: ctx.urls.cdnBase(),
    chatUrl: `${site()}/chat`,
    redirectUrl: `http://${hostForUrls}:${redirectPort}`,
    strict: resolved.strict,
    longPollTimeoutMs: resolved.longPollTimeoutMs,
    replay: resolved.replay,
    idOnlyQuotes: resolved.idOnlyQuotes,
    replyWindowMs: resolved.replyWindowMs,
    sendsPerInbound: resolved.sendsPerInbound,
    rateLimit: resolved.rateLimit,
  });
  const router = createRouter(ctx, admin, info);

  const listeners: RunningListener[] = [];
  try {
    const main = await listen(router, { host: 'main', basePath: resolved.basePath }, resolved.port, resolved.host);
    listeners.push(main);
    mainPort = main.port;
    const redirect = await listen(router, { host: 'redirect', basePath: '' }, 0, resolved.host);
    listeners.push(redirect);
    redirectPort = redirect.port;
  } catch (error) {
    await Promise.all(listeners.map(closeListener));
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: site(),
    apiBaseUrl: `${accountBase()}/`,
    cdnBaseUrl: ctx.urls.cdnBase(),
    chatUrl: `${site()}/chat`,
    redirectUrl: `http://${hostForUrls}:${redirectPort}`,
    options: resolved,
    admin,
    cdn: ctx.cdn,
    stop() {
      stopping ??= (async () => {
        waits.stopAll();
        login.stop();
        await Promise.all(listeners.map(closeListener));
      })();
      return stopping;
    },
  };
}
