/**
 * Admin endpoints behind the config dialog's "Log in with WeChat" button
 * (the pattern of Node-RED's Twitter node): the runtime runs the QR login, the
 * browser polls a status that never holds the token, and the token goes
 * straight into the config node's credentials. Works for a config node that
 * was never deployed: its id exists in the editor, and credentials stored for
 * it now are saved by the next Deploy.
 */
import type { LoginCredentials } from '../../shared';
import { LoginTracker, type LoginSnapshot } from '../../shared/login-tracker';
import type { AdminRequest, AdminResponse, NodeAPI } from './red-api';

export const LOGIN_PERMISSION = 'ilink-config.write';
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** A deployed config node may take the new token at once. */
export interface LoginAdopter {
  adoptLogin(credentials: LoginCredentials): Promise<void>;
}

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

export function registerLoginEndpoints(RED: NodeAPI, tracker = new LoginTracker()): LoginTracker {
  const guard = RED.auth.needsPermission(LOGIN_PERMISSION);
  const base = '/ilink-config/:id/login';

  const withId = (handler: (id: string, req: AdminRequest, res: AdminResponse) => Promise<void> | void) =>
    async (req: AdminRequest, res: AdminResponse) => {
      const id = req.params.id;
      if (!ID_PATTERN.test(id ?? '')) {
        res.status(400).json({ state: 'failed', error: 'bad config node id' });
        return;
      }
      try {
        await handler(id, req, res);
      } catch (error) {
        res.status(400).json({ state: 'failed', error: (error as Error).message });
      }
    };

  const reply = (res: AdminResponse, snapshot: LoginSnapshot | undefined) => {
    res.json(snapshot ?? { state: 'none' });
  };

  RED.httpAdmin.post(
    base,
    guard,
    withId(async (id, req, res) => {
      const body = req.body ?? {};
      const stored = RED.nodes.getCredentials(id);
      const snapshot = await tracker.start(
        id,
        {
          baseUrl: baseUrlFrom(body.baseUrl),
          routeTag: text(body.routeTag),
          botAgent: text(body.botAgent),
          // Lets the server answer "already bound" instead of minting a second token.
          localTokens: stored?.token ? [stored.token] : [],
        },
        async (credentials) => {
          // addCredentials replaces the whole object: merge with what is stored.
          await RED.nodes.addCredentials(id, { ...(RED.nodes.getCredentials(id) ?? {}), token: credentials.token });
          const running = RED.nodes.getNode(id);
          if (isAdopter(running)) await running.connection.adoptLogin(credentials);
          RED.log.info(`[ilink-config:${id}] WeChat login confirmed for bot ${credentials.botId}; deploy to save it`);
        },
      );
      reply(res, snapshot);
    }),
  );

  RED.httpAdmin.get(
    base,
    guard,
    withId((id, _req, res) => reply(res, tracker.status(id))),
  );

  RED.httpAdmin.post(
    `${base}/verify`,
    guard,
    withId((id, req, res) => {
      const code = text(req.body?.code);
      if (!code || !/^\d{1,12}$/.test(code)) {
        res.status(400).json({ ...(tracker.status(id) ?? { state: 'none' }), inputError: 'type the number shown on the phone' });
        return;
      }
      reply(res, tracker.verify(id, code));
    }),
  );

  RED.httpAdmin.post(
    `${base}/cancel`,
    guard,
    withId((id, _req, res) => {
      tracker.cancel(id);
      reply(res, tracker.status(id));
    }),
  );

  return tracker;
}
