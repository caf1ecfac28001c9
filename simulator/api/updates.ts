/** getupdates: the long poll with an opaque cursor (§2, §5). */
import { badParam, SESSION_TIMEOUT } from '../rules';
import type { Delivery } from '../state';
import { authedBot, type EndpointSpec } from './types';

export const getUpdates: EndpointSpec = {
  name: 'getUpdates',
  method: 'POST',
  auth: true,
  async handle(call) {
    const { strict, longPollTimeoutMs } = call.ctx.options;
    const { state, waits } = call.ctx;
    const botId = authedBot(call).botId;
    // sync_buf is declared but deprecated: the official client never sends it (§2).
    if (strict && 'sync_buf' in call.body) return badParam('sync_buf is deprecated; send get_updates_buf');
    const cursorValue = call.body.get_updates_buf ?? (strict ? undefined : '');
    if (typeof cursorValue !== 'string') return badParam('get_updates_buf must be a string');

    const sessionValid = (): boolean => state.lookupToken(authedBot(call).token).kind === 'valid';
    if (!state.hasUpdates(botId, cursorValue)) {
      const outcome = await waits.wait({
        timeoutMs: longPollTimeoutMs,
        res: call.res,
        subscribe: (wake) => {
          const onInbound = (id: string): void => {
            if (id === botId) wake();
          };
          state.events.on('inbound', onInbound);
          state.events.on('session', onInbound);
          return () => {
            state.events.off('inbound', onInbound);
            state.events.off('session', onInbound);
          };
        },
      });
      if (outcome === 'closed' || outcome === 'stopped') return undefined;
    }
    // The session may have ended while the poll was held (expireSession, re-login, reset).
    if (!sessionValid()) return SESSION_TIMEOUT;
    const { msgs, cursor } = state.takeUpdates(botId, cursorValue);
    // For latency measurements (admin.onDelivered); costs nothing when nobody listens.
    if (msgs.length > 0 && state.events.listenerCount('delivered') > 0) {
      const messageIds = msgs.map((m) => m.message_id ?? '');
      call.res.once('finish', () => state.events.emit('delivered', { botId, messageIds, time: Date.now() } satisfies Delivery));
    }
    return { body: { ret: 0, msgs, get_updates_buf: cursor, longpolling_timeout_ms: longPollTimeoutMs } };
  },
};
