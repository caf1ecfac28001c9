/** get_bot_qrcode and get_qrcode_status (§2, §3). */
import { BOT_TYPE } from '../../shared/wire';
import { badParam, firstRefusal } from '../rules';
import type { EndpointSpec } from './types';

/** Up to 10 stored tokens, newest first (§2). */
const MAX_LOCAL_TOKENS = 10;

export const getBotQrcode: EndpointSpec = {
  name: 'getBotQrcode',
  method: 'POST',
  auth: false,
  handle(call) {
    const { strict } = call.ctx.options;
    const list = call.body.local_token_list;
    if (strict) {
      const refusal = firstRefusal(
        () => (call.query.get('bot_type') === BOT_TYPE ? undefined : badParam(`bot_type must be ${BOT_TYPE}`)),
        () => ('base_info' in call.body ? badParam('get_bot_qrcode takes no base_info') : undefined),
        () => (Array.isArray(list) ? undefined : badParam('local_token_list must be an array')),
        () => ((list as unknown[]).length <= MAX_LOCAL_TOKENS ? undefined : badParam(`local_token_list holds at most ${MAX_LOCAL_TOKENS} tokens`)),
      );
      if (refusal) return refusal;
    }
    // Lenient mode also takes the legacy GET without a body (§8 #1): no token list, so no binded_redirect.
    const tokens = Array.isArray(list) ? list.filter((token): token is string => typeof token === 'string') : [];
    if (Array.isArray(list) && tokens.length !== list.length) return badParam('local_token_list must hold strings');
    return { body: call.ctx.login.createQrcode(tokens) };
  },
};

export const getQrcodeStatus: EndpointSpec = {
  name: 'getQrcodeStatus',
  method: 'GET',
  auth: false,
  async handle(call) {
    const qrcode = call.query.get('qrcode');
    if (!qrcode) return badParam('missing qrcode');
    const verifyCode = call.query.get('verify_code') ?? undefined;
    const answer = await call.ctx.login.pollStatus(qrcode, call.host, verifyCode, call.res);
    return answer && { body: answer };
  },
};
