/** getconfig (typing ticket) and sendtyping (§2, §5.8-9). */
import { TypingStatus } from '../../shared/wire';
import { badParam, firstRefusal, requireString } from '../rules';
import { authedBot, ok, type EndpointSpec } from './types';

export const getConfig: EndpointSpec = {
  name: 'getConfig',
  method: 'POST',
  auth: true,
  handle(call) {
    const refusal = firstRefusal(
      () => requireString(call.body, 'ilink_user_id', { nonEmpty: true }),
      () => (call.body.context_token === undefined ? undefined : requireString(call.body, 'context_token')),
    );
    if (refusal) return refusal;
    const ticket = call.ctx.state.typingTicketFor(authedBot(call).botId, call.body.ilink_user_id as string);
    return ok({ typing_ticket: ticket });
  },
};

export const sendTyping: EndpointSpec = {
  name: 'sendTyping',
  method: 'POST',
  auth: true,
  handle(call) {
    const { body } = call;
    const refusal = firstRefusal(
      () => requireString(body, 'ilink_user_id', { nonEmpty: true }),
      () => requireString(body, 'typing_ticket', { nonEmpty: true }),
      () => (body.status === TypingStatus.TYPING || body.status === TypingStatus.CANCEL ? undefined : badParam('status must be 1 (typing) or 2 (cancel)')),
    );
    if (refusal) return refusal;
    const botId = authedBot(call).botId;
    const userId = body.ilink_user_id as string;
    if (!call.ctx.state.ticketMatches(botId, userId, body.typing_ticket as string)) return badParam('typing ticket invalid');
    call.ctx.state.setTyping(botId, userId, body.status as number);
    return ok();
  },
};
