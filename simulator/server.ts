/**
 * Routing for both listeners. The API (§2) and the CDN (§7) live under the
 * base path; the pages and the admin/phone/chat helpers live at the root.
 * The second listener (the `redirect_host` of scaned_but_redirect, §3)
 * serves the API without base path, because a client builds its new base as
 * `<scheme>://<redirect_host>`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminRoutes, handleAdminHttp } from './admin-http';
import type { SimulatorAdmin } from './admin';
import { endpointForPath } from './api';
import { dispatchApi } from './api/dispatch';
import type { SimContext } from './api/types';
import { serveChatEvents, serveChatState } from './chat';
import { handleChatMediaRoute, isChatMediaPath } from './chat-media';
import { queryObject, sendText } from './http-util';
import type { HostKind } from './login';
import { handlePhoneAction, servePhonePage } from './phone';
import { servePublicFile } from './static';

export interface ListenerSpec {
  host: HostKind;
  basePath: string;
}

/** The path after the base path ('' base: unchanged), or undefined when the path is outside it. */
export function stripBasePath(pathname: string, basePath: string): string | undefined {
  if (!basePath) return pathname;
  if (pathname === basePath) return '/';
  return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
}

export function createRouter(ctx: SimContext, admin: SimulatorAdmin, info: () => Record<string, unknown>) {
  const routes = adminRoutes(admin, info);

  return async function route(listener: ListenerSpec, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const { pathname, searchParams: query } = url;
    const relative = stripBasePath(pathname, listener.basePath);

    if (relative !== undefined) {
      const spec = endpointForPath(relative);
      if (spec) return dispatchApi(ctx, req, res, { spec, pathname, query, host: listener.host });
      if (relative.startsWith('/ilink/')) return sendText(res, 404, 'Not Found');
      if (relative.startsWith('/c2c/')) {
        ctx.log.add({ method: req.method ?? 'GET', path: pathname, query: queryObject(query), headers: { ...req.headers }, time: Date.now(), listener: listener.host });
        return ctx.cdn.handle(req, res, relative, query);
      }
    }

    if (pathname.startsWith('/_admin/')) return handleAdminHttp(routes, req, res, pathname, query);
    if (isChatMediaPath(pathname)) return handleChatMediaRoute(ctx, req, res, pathname, query);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (pathname === '/' || pathname === '/chat') return servePublicFile(res, 'chat.html');
      if (pathname === '/favicon.ico') return void res.writeHead(204).end();
      if (pathname.startsWith('/public/')) return servePublicFile(res, pathname.slice('/public/'.length));
      if (pathname.startsWith('/phone/')) return servePhonePage(ctx.login, res, decodeURIComponent(pathname.slice('/phone/'.length)));
      if (pathname === '/_chat/state') return serveChatState(ctx.state, res, query.get('botId'));
      if (pathname === '/_chat/events') return serveChatEvents(ctx.state, res, query.get('botId'));
    }
    if (pathname.startsWith('/_phone/')) return handlePhoneAction(ctx.login, req, res, pathname.slice('/_phone/'.length));
    sendText(res, 404, 'Not Found');
  };
}

export type Router = ReturnType<typeof createRouter>;

export interface RunningListener {
  server: Server;
  port: number;
}

export async function listen(router: Router, spec: ListenerSpec, port: number, host: string): Promise<RunningListener> {
  const server = createServer((req, res) => {
    router(spec, req, res).catch((error: unknown) => {
      console.error(`[ilink-sim] request failed: ${(error as Error).message}`);
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  });
  // Long polls hold for up to 35 s; keep Node's own timeouts out of the way.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Stops accepting, then drops every open socket (long polls, SSE, keep-alive). */
export async function closeListener(listener: RunningListener): Promise<void> {
  const closed = new Promise<void>((resolve) => listener.server.close(() => resolve()));
  listener.server.closeAllConnections();
  await closed;
}
