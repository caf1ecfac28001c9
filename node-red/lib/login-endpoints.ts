/**
 * Admin endpoints behind the config dialog's "Log in with WeChat" button
 * (the pattern of Node-RED's Twitter node): the runtime runs the QR login, the
 * browser polls a status that never holds the token, and the token goes
 * straight into the config node's credentials. Works for a config node that
 * was never deployed: its id exists in the editor, and credentials stored for
 * it now are saved by the next Deploy.
 *
 * The id comes from the request, so it is checked against the runtime before
 * anything is read or stored under it: only a deployed ilink-config node, or an
 * id the runtime holds no other node's credentials for. Otherwise a user allowed
 * to log in bots could read or overwrite any other node's `token` credential.
 */
import { DEFAULT_API_BASE, LoginTracker, type LoginCredentials, type LoginSnapshot } from '../../shared';
import type { AdminRequest, AdminResponse, NodeAPI } from './red-api';

export const LOGIN_PERMISSION = 'ilink-config.write';
const CONFIG_TYPE = 'ilink-config';
const BASE_PATH = '/ilink-config/:id/login';
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** A deployed config node may take the new token at once. */
export interface LoginAdopter {
  adoptLogin(credentials: LoginCredentials): Promise<void>;
}

/** What the runtime knows about the id a login request names. */
type Target =
  /** A deployed ilink-config node, with the API base it was deployed with. */
  | { kind: 'deployed'; baseUrl?: string }
  /** A config node not deployed yet: nothing stored under the id, or only what a login here stored. */
  | { kind: 'new' }
  /** Another node's id: never read, never written. */
  | { kind: 'foreign'; error: string };

type TargetHandler = (id: string, target: Target, req: AdminRequest, res: AdminResponse) => Promise<void> | void;

/** Ids whose credentials a login through these endpoints stored (until their config node is deployed). */
type LoggedInIds = Set<string>;

function isAdopter(value: unknown): value is { connection: LoginAdopter } {
  return typeof value === 'object' && value !== null && typeof (value as { connection?: LoginAdopter }).connection?.adoptLogin === 'function';
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** The API base the dialog sends; only http(s) URLs. */
function baseUrlFrom(value: unknown): string | undefined {
  const raw = text(value);
  if (!raw) return undefined;
  const url = new URL(raw); // throws on garbage: answered with 400
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('the API base URL must start with http:// or https://');
  return raw;
}

/** The same server however it is spelled (case, default port, trailing slash); empty means the default, as in the transport. */
function sameApiBase(a: string | undefined, b: string | undefined): boolean {
  const canonical = (raw: string | undefined) => {
    try {
      return new URL(raw || DEFAULT_API_BASE).href.replace(/\/+$/, '');
    } catch {
      return undefined;
    }
  };
  const left = canonical(a);
  return left !== undefined && left === canonical(b);
}

/** The node the runtime has under `id`: in the deployed flows (running or not), or else a running one. */
function nodeUnder(RED: NodeAPI, id: string): { type: string; baseUrl?: unknown } | undefined {
  let found: { type: string; baseUrl?: unknown } | undefined;
  try {
    RED.nodes.eachNode((def) => {
      if (def.id === id) found = def;
    });
  } catch {
    // Before the first flows are loaded there is nothing to walk.
  }
  const running = RED.nodes.getNode(id) as { type?: unknown } | null;
  if (!found && typeof running?.type === 'string') found = { type: running.type };
  return found;
}

function targetOf(RED: NodeAPI, id: string, loggedIn: LoggedInIds): Target {
  const deployed = nodeUnder(RED, id);
  if (deployed?.type === CONFIG_TYPE) return { kind: 'deployed', baseUrl: text(deployed.baseUrl) };
  if (deployed) {
    return { kind: 'foreign', error: `node ${id} is a "${deployed.type}" node, not a WeChat iLink config node: start the login from the bot's own config dialog` };
  }
  const stored = RED.nodes.getCredentials(id);
  if (!stored || Object.keys(stored).length === 0 || loggedIn.has(id)) return { kind: 'new' };
  return { kind: 'foreign', error: `id ${id} holds another node's credentials, not a WeChat iLink config node's: start the login from the bot's own config dialog` };
}

/**
 * The stored token lets the server answer "already bound" instead of minting a
 * second one; it only ever goes to the API base the node was deployed with.
 */
function localTokensFor(RED: NodeAPI, id: string, target: Target, baseUrl: string | undefined): string[] {
  if (target.kind !== 'deployed' || !sameApiBase(target.baseUrl, baseUrl)) return [];
  const token = RED.nodes.getCredentials(id)?.token;
  return token ? [token] : [];
}

function fail(res: AdminResponse, status: number, error: string): void {
  res.status(status).json({ state: 'failed', error });
}

function reply(res: AdminResponse, snapshot: LoginSnapshot | undefined): void {
  res.json(snapshot ?? { state: 'none' });
}

/** Checks the id, refuses other nodes' ids, and answers a handler's throw with 400. */
function forConfigNode(RED: NodeAPI, loggedIn: LoggedInIds, handler: TargetHandler) {
  return async (req: AdminRequest, res: AdminResponse) => {
    const id = req.params.id;
    if (!ID_PATTERN.test(id ?? '')) return fail(res, 400, 'bad config node id');
    const target = targetOf(RED, id, loggedIn);
    if (target.kind === 'foreign') return fail(res, 403, target.error);
    try {
      await handler(id, target, req, res);
    } catch (error) {
      fail(res, 400, (error as Error).message);
    }
  };
}

/** Where a confirmed login's token goes: the id's credentials, and the running node if there is one. */
function storeLogin(RED: NodeAPI, id: string, loggedIn: LoggedInIds) {
  return async (credentials: LoginCredentials) => {
    // addCredentials replaces the whole object: merge with what is stored.
    await RED.nodes.addCredentials(id, { ...(RED.nodes.getCredentials(id) ?? {}), token: credentials.token });
    loggedIn.add(id);
    const running = RED.nodes.getNode(id);
    if (isAdopter(running)) await running.connection.adoptLogin(credentials);
    RED.log.info(`[ilink-config:${id}] WeChat login confirmed for bot ${credentials.botId}; deploy to save it`);
  };
}

function startLogin(RED: NodeAPI, tracker: LoginTracker, loggedIn: LoggedInIds): TargetHandler {
  return async (id, target, req, res) => {
    const body = req.body ?? {};
    const baseUrl = baseUrlFrom(body.baseUrl);
    const options = {
      baseUrl,
      routeTag: text(body.routeTag),
      botAgent: text(body.botAgent),
      localTokens: localTokensFor(RED, id, target, baseUrl),
    };
    reply(res, await tracker.start(id, options, storeLogin(RED, id, loggedIn)));
  };
}

function verifyCode(tracker: LoginTracker): TargetHandler {
  return (id, _target, req, res) => {
    const code = text(req.body?.code);
    if (!code || !/^\d{1,12}$/.test(code)) {
      res.status(400).json({ ...(tracker.status(id) ?? { state: 'none' }), inputError: 'type the number shown on the phone' });
      return;
    }
    reply(res, tracker.verify(id, code));
  };
}

export function registerLoginEndpoints(RED: NodeAPI, tracker = new LoginTracker()): LoginTracker {
  const guard = RED.auth.needsPermission(LOGIN_PERMISSION);
  const loggedIn: LoggedInIds = new Set();
  const route = (handler: TargetHandler) => forConfigNode(RED, loggedIn, handler);

  RED.httpAdmin.post(BASE_PATH, guard, route(startLogin(RED, tracker, loggedIn)));
  RED.httpAdmin.get(BASE_PATH, guard, route((id, _target, _req, res) => reply(res, tracker.status(id))));
  RED.httpAdmin.post(`${BASE_PATH}/verify`, guard, route(verifyCode(tracker)));
  RED.httpAdmin.post(
    `${BASE_PATH}/cancel`,
    guard,
    route((id, _target, _req, res) => {
      tracker.cancel(id);
      reply(res, tracker.status(id));
    }),
  );
  return tracker;
}
