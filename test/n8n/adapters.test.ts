/** The n8n adapters that need no n8n: credential fields, the login hook's output, node errors, message items. */
import { NodeApiError, NodeOperationError, type INode } from 'n8n-workflow';
import { assertCanSend, DEFAULT_REPLY_WINDOW_RULES, HttpError, MediaError, NoContextTokenError, RateLimitedError, replyWindowOf, ReplyWindowError, SessionExpiredError, toMessage, UNREADABLE_CHAT_INPUT, ValidationError, type Message } from '../../shared';
import { apiBaseUrl, clientOptionsFrom, effectiveToken, readCredentialFields } from '../../credentials/wechat-ilink-fields';
import { credentialDataForStep, LOGIN_STEP_FLAG, parseLoginStatus, runLoginHook } from '../../credentials/wechat-ilink-login-hook';
import { RELOGIN_HINT, toNodeError } from '../../nodes/common/node-errors';
import { replyWindowJson } from '../../nodes/common/reply-window-json';
import { mediaSummary } from '../../nodes/common/media-summary';
import { messageJson, windowClosingJson } from '../../nodes/WeChatIlinkTrigger/message-item';
import { splitUserIds } from '../../nodes/WeChatIlinkTrigger/trigger-options';

const node = { id: '1', name: 'WeChat iLink', type: 'CUSTOM.wechatIlink', typeVersion: 1, position: [0, 0], parameters: {} } as INode;

describe('credential fields', () => {
  it('prefers a typed-in token (and the configured base) over the QR login', () => {
    const qr = readCredentialFields({ baseUrl: 'https://a/', loginToken: 'qr-token-1', accountBaseUrl: 'https://acct/' });
    expect(effectiveToken(qr)).toBe('qr-token-1');
    expect(apiBaseUrl(qr)).toBe('https://acct/');
    const typed = readCredentialFields({ baseUrl: 'https://a/', botToken: ' typed-token ', loginToken: 'qr-token-1', accountBaseUrl: 'https://acct/' });
    expect(clientOptionsFrom(typed)).toMatchObject({ token: 'typed-token', baseUrl: 'https://a/' });
    expect(readCredentialFields({}).baseUrl).toBe('https://ilinkai.weixin.qq.com');
  });
});

describe('login hook', () => {
  it('does nothing unless the login operation asks (no key → n8n stores nothing)', async () => {
    expect(await runLoginHook({ baseUrl: 'http://127.0.0.1:9/' })).toEqual({});
    expect(await runLoginHook({ [LOGIN_STEP_FLAG]: true, botToken: 'typed-token' })).toEqual({});
  });

  it('stores the token only on confirmation, and a token-free summary always', () => {
    const done = credentialDataForStep(
      { state: 'confirmed', qrChanged: false, credentials: { token: 'secret-token-9', botId: 'b@im.bot', baseUrl: 'https://acct/', userId: 'u@im.wechat' } },
      'https://login/',
      5,
    );
    expect(done).toMatchObject({ loginToken: 'secret-token-9', loginTicket: '', botId: 'b@im.bot', ownerUserId: 'u@im.wechat', accountBaseUrl: 'https://acct/', verifyCode: '' });
    expect(done.loginStatus).not.toContain('secret-token-9');
    expect(parseLoginStatus(done.loginStatus)).toMatchObject({ state: 'confirmed', botId: 'b@im.bot' });
    const failed = credentialDataForStep({ state: 'failed', qrChanged: false, error: 'nope' }, 'https://login/');
    expect(failed).toMatchObject({ loginToken: '', loginTicket: '' });
    expect(parseLoginStatus(failed.loginStatus)).toMatchObject({ state: 'failed', error: 'nope' });
  });
});

describe('node errors', () => {
  it('maps bad input to NodeOperationError with the item, server trouble to NodeApiError', () => {
    const input = toNodeError(node, new ValidationError('the text is empty'), 3);
    expect(input).toBeInstanceOf(NodeOperationError);
    expect((input as NodeOperationError & { context: { itemIndex?: number } }).context.itemIndex).toBe(3);
    expect(toNodeError(node, new MediaError('too_large', 'too big'), 0)).toBeInstanceOf(NodeOperationError);
    const expired = toNodeError(node, new SessionExpiredError('getupdates', { errcode: -14 }), 0);
    expect(expired).toBeInstanceOf(NodeApiError);
    expect(expired.message).toMatch(/session expired/);
    expect(expired.description).toBe(RELOGIN_HINT);
    expect(toNodeError(node, new HttpError('sendmessage', 'network', 'request failed'), 0)).toBeInstanceOf(NodeApiError);
  });

  it("maps the server's sending rules (window, budget, rate limit) to NodeOperationError with the core's message and the fix", () => {
    const now = 1_000_000_000_000;
    const refusal = (record: { lastInboundAt: number; sends: number }, needed = 1): ReplyWindowError => {
      try {
        const window = replyWindowOf('u@im.wechat', { lastInboundAt: record.lastInboundAt, token: 't' }, { sends: record.sends }, DEFAULT_REPLY_WINDOW_RULES, now);
        assertCanSend(window, needed, DEFAULT_REPLY_WINDOW_RULES, now);
      } catch (error) {
        return error as ReplyWindowError;
      }
      throw new Error('not refused');
    };
    const budget = refusal({ lastInboundAt: now - 60_000, sends: 10 });
    const mapped = toNodeError(node, budget, 2);
    expect(mapped).toBeInstanceOf(NodeOperationError);
    expect(mapped.message).toBe(budget.message);
    expect(mapped.message).toMatch(/all 10 messages iLink allows per user message to u@im\.wechat are used up/);
    expect(mapped.description).toMatch(/at most 10 bot messages per message the user sends.*"When the Window Is Closed" to "Queue Until the User Writes".*"Get Reply Window"/);
    const late = toNodeError(node, refusal({ lastInboundAt: now - 25 * 3_600_000, sends: 0 }), 0);
    expect(late.message).toMatch(/last wrote 25 h ago; iLink only delivers within 24 h/);
    expect(late.description).toMatch(/only within 24 hours of the user's last message/);
    const limited = toNodeError(node, new RateLimitedError('sendmessage', { ret: -2, errmsg: 'rate limited' }, 'gave up after 6 attempt(s) over 112 s'), 0);
    expect(limited).toBeInstanceOf(NodeOperationError);
    expect(limited.message).toMatch(/rate limiting this bot.*gave up after 6 attempt\(s\)/);
    expect(limited.description).toMatch(/already waited and retried.*Retry On Fail/);
    expect(toNodeError(node, new NoContextTokenError('u@im.wechat'), 0).description).toMatch(/Queue Until the User Writes/);
  });
});

describe('reply window items', () => {
  it('always has every field: times as ISO strings and ms, null when unknown, and the queued count', () => {
    const rules = DEFAULT_REPLY_WINDOW_RULES;
    expect(replyWindowJson(replyWindowOf('u@im.wechat', undefined, undefined, rules, 0), 0)).toEqual({
      userId: 'u@im.wechat',
      open: true,
      known: false,
      sendsLeft: 10,
      closedBy: null,
      lastInboundAt: null,
      lastInboundAtMs: null,
      closesAt: null,
      closesAtMs: null,
      queued: 0,
    });
    const closed = replyWindowJson(replyWindowOf('u@im.wechat', { lastInboundAt: 0, token: 't' }, { sends: 10 }, rules, 1_000), 2);
    expect(closed).toEqual({
      userId: 'u@im.wechat',
      open: false,
      known: true,
      sendsLeft: 0,
      closedBy: 'budget',
      lastInboundAt: '1970-01-01T00:00:00.000Z',
      lastInboundAtMs: 0,
      closesAt: '1970-01-02T00:00:00.000Z',
      closesAtMs: 86_400_000,
      queued: 2,
    });
    expect(windowClosingJson('u@im.wechat', closed, new Date(5))).toEqual({ event: 'windowClosing', userId: 'u@im.wechat', replyWindow: closed, emittedAt: '1970-01-01T00:00:00.005Z' });
  });
});

describe('trigger items', () => {
  it('keeps IDs as strings, adds readable times, drops undefined', () => {
    const message: Message = { messageId: '18446744073709551615', from: 'u@im.wechat', to: 'b@im.bot', kind: 'user', items: [], text: 'hi', createTime: 0, contextToken: 'ctx' };
    const json = messageJson(message, new Date(0));
    expect(json).toMatchObject({ messageId: '18446744073709551615', contextToken: 'ctx', receivedAt: '1970-01-01T00:00:00.000Z' });
    expect(json).not.toHaveProperty('createdAt');
    expect(json.event).toBe('message');
    expect(json).not.toHaveProperty('replyWindow');
    expect(messageJson(message, new Date(0), { open: true }).replyWindow).toEqual({ open: true });
    expect(splitUserIds(' a@im.wechat, b@im.wechat;c@im.wechat \n')).toEqual(['a@im.wechat', 'b@im.wechat', 'c@im.wechat']);
  });
});

describe('trigger items for an AI Agent (chatInput, sessionId)', () => {
  const base: Message = { messageId: '1', from: 'u@im.wechat', to: 'b@im.bot', kind: 'user', items: [], text: '' };

  it('chatInput is the text, the voice transcript, or a label naming the attachment', () => {
    const voice = toMessage({ from_user_id: 'u@im.wechat', item_list: [{ type: 3, voice_item: { text: '明天几点开会' } }] });
    const silentVoice = toMessage({ from_user_id: 'u@im.wechat', item_list: [{ type: 3, voice_item: {} }] });
    const captioned = toMessage({ from_user_id: 'u@im.wechat', item_list: [{ type: 2, image_item: {} }, { type: 1, text_item: { text: '这是什么花' } }] });
    const file = toMessage({ from_user_id: 'u@im.wechat', item_list: [{ type: 4, file_item: { file_name: 'report.pdf' } }] });
    const unknown = toMessage({ from_user_id: 'u@im.wechat', item_list: [{ type: 99 }] });
    expect(messageJson({ ...base, text: 'hi' }).chatInput).toBe('hi');
    expect(messageJson(voice).chatInput).toBe('明天几点开会');
    expect(messageJson(silentVoice).chatInput).toBe('[语音]');
    expect(messageJson(captioned).chatInput).toBe('这是什么花');
    expect(messageJson(file).chatInput).toBe('[文件] report.pdf');
    // An AI Agent refuses an empty prompt: an unreadable message still says something.
    expect(messageJson(unknown).chatInput).toBe(UNREADABLE_CHAT_INPUT);
    expect(messageJson(unknown).text).toBe('');
  });

  it('sessionId is the same for every message of one user to one bot, and differs between users and bots; the wire value is kept apart', () => {
    const first = messageJson({ ...base, sessionId: 'wire-1' }, new Date(0), undefined, 'b@im.bot');
    const second = messageJson({ ...base, messageId: '2', sessionId: 'wire-2' }, new Date(0), undefined, 'b@im.bot');
    expect(first.sessionId).toBe('b@im.bot:u@im.wechat');
    expect(second.sessionId).toBe(first.sessionId);
    expect(first.serverSessionId).toBe('wire-1');
    expect(messageJson({ ...base, from: 'v@im.wechat' }).sessionId).not.toBe(first.sessionId);
    expect(messageJson(base, new Date(0), undefined, 'other@im.bot').sessionId).not.toBe(first.sessionId);
    // Without the credential's bot ID the recipient (the bot) stands in.
    expect(messageJson(base).sessionId).toBe('b@im.bot:u@im.wechat');
  });
});

describe('media summary', () => {
  it("carries the sender's raw file name only when it was not safe to use as is; fileName is the safe one", () => {
    const base = { data: Buffer.alloc(1), mimeType: 'text/plain', size: 1, kind: 'file' as const };
    expect(mediaSummary({ ...base, fileName: 'notes.txt' }, 'data')).toEqual({ binaryProperty: 'data', kind: 'file', fileName: 'notes.txt', mimeType: 'text/plain', size: 1 });
    expect(mediaSummary({ ...base, fileName: 'settings.js', originalFileName: '../../settings.js' }, 'data')).toMatchObject({
      fileName: 'settings.js',
      originalFileName: '../../settings.js',
    });
  });
});
