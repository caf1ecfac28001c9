/** getupdates: the long poll with an opaque cursor (§2, §5, §10). */
import { badParam, SESSION_TIMEOUT } from '../rules';
import type { Delivery } from '../state';
import { authedBot, type EndpointSpec } from './types';

/**
 * A held poll answers this long before the announced longpolling_timeout_ms
 * (5 %, at least 20 ms, at most 1 s, never more than half). The official
 * client aborts at exactly that timeout (§5.2); without replay (§10) an answer
 * it aborted would lose its messages for good.
 */
export function holdMarginMs(longPollTimeoutMs: number): number {
  return Math.min(1000, Math.max(20, Math.round(longPollTimeoutMs * 0.05)), Math.floor(longPollTimeoutMs / 2));
}

export const getUpdates: EndpointSpec = {
  name: 'getUpdates',
  method: 'POST',
  auth: true,
  async handle(call) {
    const { strict, longPollTimeoutMs } = call.ctx.options;
    const { state, waits, faults } = call.ctx;
    const botId = authedBot(call).botId;
    // sync_buf is declared but deprecated: the official client never sends it (§2).
    if (strict && 'sync_buf' in call.body) return badParam('sync_buf is deprecated; send get_updates_buf');
    const cursorValue = call.body.get_updates_buf ?? (strict ? undefined : '');
    if (typeof cursorValue !== 'string') return badParam('get_updates_buf must be a string');

    const sessionValid = (): boolean => state.lookupToken(authedBot(call).token).kind === 'valid';
    // Hold until there is something for this cursor. Without replay another
    // poll may take what woke this one, so it keeps waiting out its time.
    const deadline = Date.now() + longPollTimeoutMs - holdMarginMs(longPollTimeoutMs);
    let held = false;
    while (sessionValid() && !state.hasUpdates(botId, cursorValue)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      held = true;
      const outcome = await waits.wait({
        timeoutMs: remaining,
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
      if (outcome === 'timeout') break;
    }
    // The session may have ended while the poll was held (expireSession, re-login, reset).
    if (!sessionValid()) return SESSION_TIMEOUT;
    // Past the deadline (a late wake, a blocked event loop) the client may be
    // giving up: answer empty and leave the messages for its next poll.
    const late = held && Date.now() >= deadline;
    const { msgs, cursor } = late ? { msgs: [], cursor: state.cursorWithoutTaking(botId, cursorValue) } : state.takeUpdates(botId, cursorValue);
    if (msgs.length > 0) {
      const { res } = call;
      // An answer that was never completely written delivered nothing: its messages go back (no replay only).
      res.once('close', () => {
        if (!res.writableFinished) state.returnUndelivered(botId, msgs);
      });
      // §10 "Duplicates": an armed duplicate fault delivers these again, delayMs after this answer.
      const duplicate = faults.takeArmedDuplicate();
      if (duplicate) {
        res.once('finish', () => {
          void waits.delay(duplicate.delayMs ?? 1000).then((outcome) => {
            if (outcome === 'timeout') state.requeueDuplicates(botId, msgs);
          });
        });
      }
    }
    // For latency measurements (admin.onDelivered); costs nothing when nobody listens.
    if (msgs.length > 0 && state.events.listenerCount('delivered') > 0) {
      const messageIds = msgs.map((m) => m.message_id ?? '');
      call.res.once('finish', () => state.events.emit('delivered', { botId, messageIds, time: Date.now() } satisfies Delivery));
    }
    return { body: { ret: 0, msgs, get_updates_buf: cursor, longpolling_timeout_ms: longPollTimeoutMs } };
  },
};
