import { ContextTokenError, NoContextTokenError, ValidationError } from '../../shared/errors';
import { toMessage } from '../../shared/messages';
import { makeClientId, MessageSender, PartialSendError } from '../../shared/send';
import { BotState } from '../../shared/store';
import { Transport } from '../../shared/transport';
import { rejection } from '../helpers/rejection';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
  server.fallback = { body: '{"ret":0,"message_id":18446744073709551615}' };
});
afterEach(() => server.close());

const sends = () => server.requests.filter((r) => r.url.endsWith('/sendmessage')).map((r) => JSON.parse(r.body));

function setup() {
  const state = new BotState();
  const sender = new MessageSender(new Transport({ baseUrl: server.url, token: 'token-abcdef' }), state, 'testbot');
  return { state, sender };
}

test('client_id is <prefix>:<unix-ms>-<8 hex>', () => {
  expect(makeClientId('p', 1714000000000)).toMatch(/^p:1714000000000-[0-9a-f]{8}$/);
  expect(makeClientId()).toMatch(/^wechat-ilink:\d{13}-[0-9a-f]{8}$/);
});

test('a text send is exactly the official sendmessage body (§6) and returns the uint64 message_id as a string', async () => {
  const { sender } = setup();
  const [result] = await sender.send('u@im.wechat', 'hi', { contextToken: 'ctx-1' });
  expect(result.messageId).toBe('18446744073709551615');
  expect(result.clientId).toMatch(/^testbot:\d{13}-[0-9a-f]{8}$/);
  const [body] = sends();
  expect(body.msg).toEqual({
    from_user_id: '',
    to_user_id: 'u@im.wechat',
    client_id: result.clientId,
    message_type: 2,
    message_state: 2,
    context_token: 'ctx-1',
    item_list: [{ type: 1, text_item: { text: 'hi' } }],
  });
  expect(body.base_info).toBeDefined();
});

test('several items go out one per request, in order, each with its own client_id', async () => {
  const { sender } = setup();
  const results = await sender.send('u', ['one', { type: 2, image_item: { media: { encrypt_query_param: 'q' } } }, 'three'], { contextToken: 'c' });
  const bodies = sends();
  expect(bodies).toHaveLength(3);
  expect(bodies.every((b) => b.msg.item_list.length === 1)).toBe(true);
  expect(bodies.map((b) => b.msg.item_list[0].type)).toEqual([1, 2, 1]);
  expect(new Set(results.map((r) => r.clientId)).size).toBe(3);
});

test('long text is filtered and split at 4000 characters into separate messages', async () => {
  const { sender } = setup();
  const text = `${'a'.repeat(3000)}\n${'b'.repeat(3000)}\n![img](http://x/y.png)##### done`;
  await sender.send('u', text, { contextToken: 'c' });
  const texts = sends().map((b) => b.msg.item_list[0].text_item.text);
  expect(texts).toHaveLength(2);
  expect(texts.every((t: string) => [...t].length <= 4000)).toBe(true);
  expect(texts.join('')).not.toContain('![img]');
});

test('context token: explicit first, else the stored one for the user', async () => {
  const { sender, state } = setup();
  state.rememberContextToken('u', 'stored');
  await sender.send('u', 'a');
  await sender.send('u', 'b', { contextToken: 'explicit' });
  expect(sends().map((b) => b.msg.context_token)).toEqual(['stored', 'explicit']);
});

test('no context token: a clear error before anything is sent, unless explicitly allowed', async () => {
  const { sender } = setup();
  const error = await rejection(sender.send('stranger@im.wechat', 'hello'));
  expect(error).toBeInstanceOf(NoContextTokenError);
  expect(error.message).toMatch(/has not messaged the bot yet.*iLink only lets a bot answer after the user writes/);
  expect(sends()).toHaveLength(0);
  await sender.send('stranger@im.wechat', 'hello', { allowWithoutContextToken: true });
  expect(sends()[0].msg).not.toHaveProperty('context_token');
});

test('bad input fails clearly and sends nothing', async () => {
  const { sender } = setup();
  expect(await rejection(sender.send('', 'x', { contextToken: 'c' }))).toBeInstanceOf(ValidationError);
  expect((await rejection(sender.send('  ', 'x', { contextToken: 'c' }))).message).toMatch(/no recipient/);
  expect((await rejection(sender.send('u', '   ', { contextToken: 'c' }))).message).toMatch(/empty/);
  expect(await rejection(sender.send('u', [], { contextToken: 'c' }))).toBeInstanceOf(ValidationError);
  expect(sends()).toHaveLength(0);
});

test('ret -2 surfaces as ContextTokenError', async () => {
  server.answer({ body: { ret: -2, errmsg: 'context token invalid' } });
  const { sender } = setup();
  expect(await rejection(sender.send('u', 'x', { contextToken: 'old' }))).toBeInstanceOf(ContextTokenError);
});

test('a failure part-way reports what was already sent', async () => {
  server.answer({ body: '{"ret":0,"message_id":1}' }, { status: 500, body: 'x' });
  const { sender } = setup();
  const error = await rejection(sender.send('u', ['first', 'second'], { contextToken: 'c' }));
  expect(error).toBeInstanceOf(PartialSendError);
  expect(error.sent.map((r: any) => r.messageId)).toEqual(['1']);
});

test('reply uses the inbound context token and one run_id per inbound message', async () => {
  const { sender } = setup();
  const inbound = toMessage({ message_id: '77', from_user_id: 'u@im.wechat', context_token: 'ctx-in', item_list: [] });
  const other = toMessage({ message_id: '78', from_user_id: 'u@im.wechat', context_token: 'ctx-2', item_list: [] });
  await sender.reply(inbound, 'one');
  await sender.reply(inbound, 'two');
  await sender.reply(other, 'three');
  const bodies = sends();
  expect(bodies.map((b) => b.msg.context_token)).toEqual(['ctx-in', 'ctx-in', 'ctx-2']);
  expect(bodies[0].msg.run_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(bodies[1].msg.run_id).toBe(bodies[0].msg.run_id);
  expect(bodies[2].msg.run_id).not.toBe(bodies[0].msg.run_id);
  expect(bodies.every((b) => !('group_id' in b.msg))).toBe(true);
});

test('replies to messages known by neither ID nor time (an n8n Reply after an AI Agent) are runs of their own, not one run per user', async () => {
  const { sender } = setup();
  const bare = { messageId: '', from: 'u@im.wechat', to: '', kind: 'user' as const, items: [], text: '', contextToken: 'ctx-in' };
  await sender.reply(bare, 'first answer');
  await sender.reply({ ...bare }, 'second answer');
  const [first, second] = sends();
  expect(first.msg.run_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(second.msg.run_id).not.toBe(first.msg.run_id);
});
