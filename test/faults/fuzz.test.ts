/**
 * Property-based robustness of the core (fast-check, fixed seeds, modest run
 * counts). Random and mutated server data goes through the same code the core
 * runs in production:
 * - getupdates bodies: the real Transport (undici MockAgent, no sockets) and a
 *   real Poller on a ManualClock: parse (parseJsonUint64Safe), status check,
 *   toMessage, dedupe, handler. Valid bodies must deliver every message with
 *   its exact uint64 ID; mutated ones (fields deleted, types swapped, text
 *   truncated, huge numbers, deep nesting) may only yield typed errors, and
 *   the poller must keep going.
 * - sendmessage replies: send() resolves with a string message ID or rejects
 *   with a typed error.
 * - media: parseAesKey, decryptAesEcb, createDecryptStream and downloadMedia
 *   (against a MockAgent CDN) accept anything and fail only with MediaError.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { MockAgent } from 'undici';
import { ILinkClient } from '../../shared/client';
import { ManualClock } from '../../shared/clock';
import { ILinkError } from '../../shared/errors';
import { parseJsonUint64Safe } from '../../shared/json';
import { createDecryptStream, decryptAesEcb, downloadMedia, encryptAesEcb, MediaError, parseAesKey } from '../../shared/media';
import { toMessage } from '../../shared/messages';
import type { Item, Message } from '../../shared/model';
import { Poller } from '../../shared/poller';
import { BotState } from '../../shared/store';
import { Transport } from '../../shared/transport';
import { until } from './helpers';

const ORIGIN = 'http://ilink.test';
const CDN = 'http://cdn.test';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const hexa = (o: { minLength?: number; maxLength?: number }) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), ...o });
const uint64 = fc.bigInt({ min: 1n, max: 2n ** 64n - 1n });
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const media = fc.record(
  { encrypt_query_param: fc.base64String({ maxLength: 24 }), aes_key: fc.base64String({ maxLength: 48 }), encrypt_type: fc.constantFrom(0, 1) },
  { requiredKeys: [] },
);
const leafItem = fc.oneof(
  fc.record({ type: fc.constant(1), text_item: fc.record({ text }), msg_id: uint64 }),
  fc.record({ type: fc.constant(2), image_item: fc.record({ media, aeskey: hexa({ minLength: 32, maxLength: 32 }), mid_size: fc.nat() }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constant(3), voice_item: fc.record({ media, encode_type: fc.nat(8), playtime: fc.nat(), text }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constant(4), file_item: fc.record({ media, file_name: text, len: fc.nat().map(String), md5: hexa({ maxLength: 32 }) }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constant(5), video_item: fc.record({ media, video_size: fc.nat() }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constantFrom(11, 12, 0, 99), tool_call_start_item: fc.record({ tool_name: text, tool_call_id: text }) }),
);
const item = fc.oneof(
  { weight: 4, arbitrary: leafItem },
  { weight: 1, arbitrary: fc.record({ type: fc.constant(1), text_item: fc.record({ text }), ref_msg: fc.record({ title: text, message_item: leafItem, svr_id: uint64 }, { requiredKeys: [] }) }) },
);
const wireMessage = fc.record({
  seq: fc.nat(),
  message_id: uint64,
  from_user_id: fc.constantFrom('a@im.wechat', 'b@im.wechat', ''),
  to_user_id: fc.constant('bot@im.bot'),
  create_time_ms: fc.nat(),
  session_id: text,
  message_type: fc.constantFrom(0, 1, 2),
  message_state: fc.constantFrom(0, 1, 2),
  context_token: fc.base64String({ maxLength: 24 }),
  item_list: fc.array(item, { maxLength: 3 }),
});

/** Distinct message IDs, as a real server sends them. */
const updatesBody = fc
  .record({ msgs: fc.uniqueArray(wireMessage, { maxLength: 5, selector: (m) => m.message_id }), cursor: fc.base64String({ minLength: 4, maxLength: 20 }), hint: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }) })
  .map(({ msgs, cursor, hint }) => ({ ret: 0, msgs, get_updates_buf: cursor, ...(hint ? { longpolling_timeout_ms: hint } : {}) }));

/** JSON with bigints written as bare integer literals (as the server writes uint64 IDs). */
function toWireText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `__BIG${v}__` : v)).replace(/"__BIG(-?\d+)__"/g, '$1');
}

// Mutations: applied to a random object/array node of the value, then to the text.
const weird = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, -14, -2, 1.5, '', 'x', [], {}, 1e308, -1e308, 2 ** 53 + 1),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.nat(60).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { message_id: i, item_list: [v] };
    return v;
  }),
);
type Mutation = { at: number; op: 'delete' | 'swap' | 'add'; key: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'swap', 'add'),
  key: fc.constantFrom('msgs', 'ret', 'errcode', 'errmsg', 'get_updates_buf', 'longpolling_timeout_ms', 'message_id', 'item_list', 'type', 'text_item', 'text', 'context_token', 'from_user_id', 'ref_msg', 'msg_id', 'svr_id', 'media', 'aes_key', 'len', '__proto__', 'constructor'),
  value: weird,
});
const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), chunk: fc.constantFrom('1e400', '-', '"', '\\', '}', ']', ',', '99999999999999999999999', '\u0000', 'NaN', '\ud800') }),
  fc.record({ kind: fc.constant('none' as const) }),
);

function nodesOf(value: unknown, out: Array<Record<string, unknown> | unknown[]> = []): Array<Record<string, unknown> | unknown[]> {
  if (value && typeof value === 'object') {
    out.push(value as Record<string, unknown>);
    for (const child of Object.values(value)) nodesOf(child, out);
  }
  return out;
}

function mutate(value: unknown, mutations: Mutation[]): unknown {
  const copy = structuredClone(value);
  for (const m of mutations) {
    const nodes = nodesOf(copy);
    const node = nodes[m.at % nodes.length];
    if (!node) continue;
    if (Array.isArray(node)) {
      const i = node.length ? m.at % node.length : 0;
      if (m.op === 'delete') node.splice(i, 1);
      else node[i] = structuredClone(m.value);
      continue;
    }
    const keys = Object.keys(node);
    const key = m.op === 'add' || keys.length === 0 ? m.key : keys[m.at % keys.length]!;
    if (m.op === 'delete') delete node[key];
    else Object.defineProperty(node, key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

type TextMutation = { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; chunk: string } | { kind: 'none' };
function mutateText(text: string, m: TextMutation): string {
  if (m.kind === 'truncate') return text.slice(0, m.at % (text.length + 1));
  if (m.kind === 'insert') {
    const at = m.at % (text.length + 1);
    return text.slice(0, at) + m.chunk + text.slice(at);
  }
  return text;
}

const FUZZ = { seed: 424242, numRuns: 150 };

// ---------------------------------------------------------------------------
// getupdates through the real Transport and Poller
// ---------------------------------------------------------------------------

interface PollOutcome {
  messages: Message[];
  errors: Error[];
  survived: boolean;
}

/** One poller life: notifystart, then `body` as the getupdates answer, then a long quiet poll. */
async function pollOnce(status: number, body: string): Promise<PollOutcome> {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(ORIGIN);
  pool.intercept({ path: '/ilink/bot/msg/notifystart', method: 'POST' }).reply(200, '{"ret":0}');
  pool.intercept({ path: '/ilink/bot/getupdates', method: 'POST' }).reply(status, body);
  pool.intercept({ path: '/ilink/bot/getupdates', method: 'POST' }).reply(200, '{"ret":0,"msgs":[]}').delay(10_000).persist();
  pool.intercept({ path: '/ilink/bot/msg/notifystop', method: 'POST' }).reply(200, '{"ret":0}');
  let polls = 0;
  const transport = new Transport({ baseUrl: ORIGIN, token: 'fuzz-token', dispatcher: agent });
  const post = transport.post.bind(transport);
  transport.post = (<T>(endpoint: Parameters<Transport['post']>[0], b: object, o?: Parameters<Transport['post']>[2]) => {
    if (endpoint === 'getUpdates') polls++;
    return post<T>(endpoint, b, o);
  }) as Transport['post'];
  const clock = new ManualClock();
  const messages: Message[] = [];
  const errors: Error[] = [];
  const poller = new Poller({
    transport,
    state: new BotState(),
    clock,
    handler: (m) => void messages.push(m),
    // The bodies mix user and bot message types; this test is about reading them, so echoes are handed over too.
    includeBotMessages: true,
    onError: (e, info) => {
      if (info.source === 'handler') throw new Error(`handler error reported: ${e.message}`);
      errors.push(e);
    },
    timings: { initialTimeoutMs: 5000 },
  });
  const done = poller.start();
  let survived = true;
  try {
    // After the fuzzed answer the poller either polls again (success) or sleeps on the clock (failure).
    await until(() => polls >= 2 || clock.pendingSleeps.length > 0, 3000, 'the poller to go on after the fuzzed answer');
  } catch {
    survived = false;
  }
  await poller.stop();
  await done.catch((e: unknown) => errors.push(e as Error));
  await agent.close();
  return { messages, errors, survived };
}

function checkMessage(m: Message): void {
  expect(typeof m.messageId).toBe('string');
  expect(typeof m.from).toBe('string');
  expect(typeof m.text).toBe('string');
  expect(Array.isArray(m.items)).toBe(true);
}

describe('getupdates bodies (real Transport + Poller)', () => {
  test('valid bodies: every message delivered once, each user\'s in order, with its exact uint64 ID', async () => {
    await fc.assert(
      fc.asyncProperty(updatesBody, async (body) => {
        const outcome = await pollOnce(200, toWireText(body));
        expect(outcome.errors).toEqual([]);
        expect(outcome.survived).toBe(true);
        // Users are handled side by side: every message once, each user's in order.
        const ids = (list: Array<{ id: string; from: string }>, user: string) => list.filter((m) => m.from === user).map((m) => m.id);
        const got = outcome.messages.map((m) => ({ id: m.messageId, from: m.from }));
        const sent = body.msgs.map((m) => ({ id: m.message_id.toString(), from: m.from_user_id }));
        expect(got.map((m) => m.id).sort()).toEqual(sent.map((m) => m.id).sort());
        for (const user of new Set(sent.map((m) => m.from))) expect(ids(got, user)).toEqual(ids(sent, user));
        const byId = new Map(body.msgs.map((m) => [m.message_id.toString(), m]));
        for (const m of outcome.messages) {
          const wire = byId.get(m.messageId)!;
          expect(m.from).toBe(wire.from_user_id);
          const firstText = wire.item_list.find((it) => it.type === 1) as { text_item: { text: string } } | undefined;
          if (firstText && firstText.text_item.text !== '') expect(m.text).toBe(firstText.text_item.text);
        }
      }),
      { ...FUZZ, numRuns: 60 },
    );
  });

  test('mutated bodies: only typed errors, messages well-formed, the poller keeps going', async () => {
    await fc.assert(
      fc.asyncProperty(
        updatesBody,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        textMutation,
        fc.constantFrom(200, 200, 200, 200, 500, 404, 204),
        async (body, mutations, tm, status) => {
          const text = mutateText(toWireText(mutate(body, mutations)), tm);
          const outcome = await pollOnce(status, text);
          expect(outcome.survived).toBe(true);
          for (const e of outcome.errors) expect(e).toBeInstanceOf(ILinkError);
          for (const m of outcome.messages) checkMessage(m);
        },
      ),
      { ...FUZZ, numRuns: 120 },
    );
  });

  test('parseJsonUint64Safe + toMessage on arbitrary text: SyntaxError or well-formed messages, IDs never rounded', () => {
    fc.assert(
      fc.property(updatesBody, fc.array(mutation, { maxLength: 4 }), textMutation, (body, mutations, tm) => {
        const text = mutateText(toWireText(mutate(body, mutations)), tm);
        let parsed: unknown;
        try {
          parsed = parseJsonUint64Safe(text);
        } catch (error) {
          expect(error).toBeInstanceOf(SyntaxError); // Transport turns this into HttpError 'malformed'
          return;
        }
        const msgs = parsed && typeof parsed === 'object' ? (parsed as { msgs?: unknown }).msgs : undefined;
        if (!Array.isArray(msgs)) return;
        for (const wire of msgs) {
          const m = toMessage(wire as never);
          checkMessage(m);
          // A bare integer message_id survives digit for digit (no pass through a double).
          const raw = wire && typeof wire === 'object' ? (wire as { message_id?: unknown }).message_id : undefined;
          if (typeof raw === 'string' && /^\d+$/.test(raw)) expect(m.messageId).toBe(raw);
        }
      }),
      { ...FUZZ, numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------
// sendmessage replies
// ---------------------------------------------------------------------------

describe('sendmessage replies', () => {
  const replyArb = fc.oneof(
    fc.record({ message_id: uint64, ret: fc.constant(0) }).map((r) => ({ status: 200, text: toWireText(r), id: r.message_id.toString() as string | undefined })),
    fc
      .tuple(fc.record({ message_id: uint64, ret: fc.constantFrom(0, -2, -14, -1), errcode: fc.constantFrom(0, -14, 5), errmsg: text }, { requiredKeys: [] }), fc.array(mutation, { maxLength: 3 }), textMutation)
      .map(([r, ms, tm]) => ({ status: 200, text: mutateText(toWireText(mutate(r, ms)), tm), id: undefined })),
    fc.tuple(fc.constantFrom(400, 401, 403, 429, 500, 502, 503), fc.string({ maxLength: 300 })).map(([status, t]) => ({ status, text: t, id: undefined })),
    fc.constant({ status: -1, text: '', id: undefined }), // connection error
  );

  test('send() resolves with a string message ID or rejects with a typed error, after one request', async () => {
    await fc.assert(
      fc.asyncProperty(replyArb, async (reply) => {
        const agent = new MockAgent();
        agent.disableNetConnect();
        const pool = agent.get(ORIGIN);
        const scope = pool.intercept({ path: '/ilink/bot/sendmessage', method: 'POST' });
        if (reply.status < 0) scope.replyWithError(new Error('socket hang up'));
        else scope.reply(reply.status, reply.text);
        const client = new ILinkClient({ token: 'fuzz-token', baseUrl: ORIGIN, dispatcher: agent });
        try {
          const [result] = await client.send('a@im.wechat', 'hi', { contextToken: 'ctx' });
          expect(typeof result!.messageId).toBe('string');
          if (reply.id) expect(result!.messageId).toBe(reply.id);
        } catch (error) {
          expect(error).toBeInstanceOf(ILinkError);
          expect((error as Error).message).not.toContain('fuzz-token');
        } finally {
          // No retry: the single intercept is used, and nothing else was asked for.
          expect(agent.pendingInterceptors()).toHaveLength(0);
          await agent.close();
        }
      }),
      { ...FUZZ, numRuns: 120 },
    );
  });
});

// ---------------------------------------------------------------------------
// Media: keys, decryption, CDN bodies
// ---------------------------------------------------------------------------

describe('media: keys, AES, CDN bodies', () => {
  const keyText = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
    hexa({ minLength: 30, maxLength: 34 }).map((h: string) => Buffer.from(h).toString('base64')),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(Buffer.from(b).toString('hex')).toString('base64')),
  );

  test('parseAesKey: 16 bytes or MediaError bad_key, nothing else', () => {
    fc.assert(
      fc.property(keyText, (k) => {
        try {
          expect(parseAesKey(k)).toHaveLength(16);
        } catch (error) {
          expect(error).toBeInstanceOf(MediaError);
          expect((error as MediaError).kind).toBe('bad_key');
        }
      }),
      { ...FUZZ, numRuns: 400 },
    );
  });

  const keyBytes = fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ minLength: 16, maxLength: 16 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }).map((b) => Buffer.from(b));

  test('decryptAesEcb: round trip for the right key; MediaError for anything else', () => {
    fc.assert(
      fc.property(keyBytes, keyBytes, fc.uint8Array({ maxLength: 300 }), fc.nat(), (key, other, plain, flip) => {
        if (key.length !== 16) {
          expect(() => decryptAesEcb(key, Buffer.alloc(32))).toThrow(MediaError);
          return;
        }
        const cipher = encryptAesEcb(key, Buffer.from(plain));
        expect(decryptAesEcb(key, cipher).equals(Buffer.from(plain))).toBe(true);
        const damaged = Buffer.from(cipher);
        damaged[flip % damaged.length] ^= 1 + (flip % 255);
        for (const [k, c] of [[other, cipher], [key, damaged], [key, cipher.subarray(0, flip % cipher.length)]] as const) {
          try {
            decryptAesEcb(k, c); // may "succeed" with garbage: PKCS#7 alone cannot detect every wrong key
          } catch (error) {
            expect(error).toBeInstanceOf(MediaError);
          }
        }
      }),
      { ...FUZZ, numRuns: 300 },
    );
  });

  test('createDecryptStream: any chunking gives the plaintext; damaged input errors with MediaError', async () => {
    await fc.assert(
      fc.asyncProperty(keyBytes.filter((k) => k.length === 16), fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(50), { maxLength: 20 }), fc.boolean(), async (key, plain, cuts, damage) => {
        let cipher = encryptAesEcb(key, Buffer.from(plain));
        if (damage) cipher = cipher.subarray(0, cipher.length - 1 - (cuts[0] ?? 0) % cipher.length);
        const chunks: Buffer[] = [];
        let offset = 0;
        for (const cut of cuts) {
          chunks.push(cipher.subarray(offset, offset + cut));
          offset += cut;
        }
        chunks.push(cipher.subarray(offset));
        const out: Buffer[] = [];
        try {
          await pipeline(Readable.from(chunks.filter((c) => c.length > 0)), createDecryptStream(key), async function* (source) {
            for await (const piece of source) out.push(piece as Buffer);
          });
          expect(damage).toBe(false);
          expect(Buffer.concat(out).equals(Buffer.from(plain))).toBe(true);
        } catch (error) {
          expect(damage).toBe(true);
          expect(error).toBeInstanceOf(MediaError);
        }
      }),
      { ...FUZZ, numRuns: 150 },
    );
  });

  test('downloadMedia against random CDN answers: data or MediaError, nothing else', async () => {
    const answer = fc.record({
      status: fc.constantFrom(200, 200, 200, 206, 204, 301, 404, 500),
      body: fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
      encrypt: fc.boolean(),
      announceLength: fc.boolean(),
      cap: fc.integer({ min: 1, max: 4000 }),
      error: fc.boolean(),
      kind: fc.constantFrom('image', 'file', 'video', 'voice', 'text'),
      keyForm: fc.constantFrom('raw', 'hex', 'imageHex', 'garbage', 'none'),
      fullUrl: fc.constantFrom(undefined, `${CDN}/full?x=1`, 'not a url', 'ftp://cdn.test/x', ''),
    });
    await fc.assert(
      fc.asyncProperty(answer, keyBytes.filter((k) => k.length === 16), async (a, key) => {
        const agent = new MockAgent();
        agent.disableNetConnect();
        const pool = agent.get(CDN);
        const body = a.encrypt ? encryptAesEcb(key, a.body) : a.body;
        const scope = pool.intercept({ path: (p: string) => p.startsWith('/download') || p.startsWith('/full'), method: 'GET' });
        if (a.error) scope.replyWithError(new Error('ECONNRESET'));
        else scope.reply(a.status, body, { headers: a.announceLength ? { 'content-length': String(body.length) } : {} });
        const aesKey =
          a.keyForm === 'raw' ? key.toString('base64') : a.keyForm === 'hex' ? Buffer.from(key.toString('hex')).toString('base64') : a.keyForm === 'garbage' ? 'AAAA' : undefined;
        const mediaRef = { encryptQueryParam: 'param+/=', aesKey, fullUrl: a.fullUrl };
        const item: Item =
          a.kind === 'image'
            ? { type: 'image', wireType: 2, image: { media: mediaRef, aesKeyHex: a.keyForm === 'imageHex' ? key.toString('hex') : undefined } }
            : a.kind === 'file'
              ? { type: 'file', wireType: 4, file: { media: mediaRef, fileName: 'x.bin' } }
              : a.kind === 'video'
                ? { type: 'video', wireType: 5, video: { media: mediaRef } }
                : a.kind === 'voice'
                  ? { type: 'voice', wireType: 3, voice: { media: mediaRef } }
                  : { type: 'text', wireType: 1, text: 'hi' };
        try {
          const result = await downloadMedia({ cdnBaseUrl: CDN, maxBytes: a.cap, dispatcher: agent }, item, { decodeVoice: false });
          expect(Buffer.isBuffer(result.data)).toBe(true);
          expect(result.data.length).toBeLessThanOrEqual(a.cap);
        } catch (error) {
          expect(error).toBeInstanceOf(MediaError);
        } finally {
          await agent.close();
        }
      }),
      { ...FUZZ, numRuns: 150 },
    );
  });
});
