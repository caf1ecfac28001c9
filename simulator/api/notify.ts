/** msg/notifystart and msg/notifystop (§2): recorded, always ret 0. */
import { authedBot, ok, type EndpointSpec } from './types';

export const notifyStart: EndpointSpec = {
  name: 'notifyStart',
  method: 'POST',
  auth: true,
  handle(call) {
    call.ctx.state.recordNotification(authedBot(call).botId, 'start');
    return ok();
  },
};

export const notifyStop: EndpointSpec = {
  name: 'notifyStop',
  method: 'POST',
  auth: true,
  handle(call) {
    call.ctx.state.recordNotification(authedBot(call).botId, 'stop');
    return ok();
  },
};
