/**
 * Outbound content given as plain values (shared/outbound-parts.ts): what a
 * payload may be, the errors that name the host's own fields, and how a list
 * of parts becomes one send (caption first, files uploaded for the
 * recipient, an earlier upload reused after a trip through JSON). Sends go to
 * the simulator, which decrypts what it got.
 */
import { ILinkClient } from '../../shared/client';
import { ValidationError } from '../../shared/errors';
import type { Message } from '../../shared/model';
import { asBuffer, isUploadedMedia, readOutbound, sendOutbound, toOutboundPart } from '../../shared/outbound-parts';
import { startSimulator, type Simulator } from '../../simulator';
import { PNG_1X1 } from '../node-red/sim-fixture';

const USER = 'alice@im.wechat';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ longPollTimeoutMs: 300 });
});
afterAll(() => sim.stop());

/** A client and the user's first message, received over getupdates (so the client knows the context token). */
async function clientWithMessage(): Promise<{ client: ILinkClient; botId: string; message: Message }> {
  const bot = sim.admin.createBot();
  const client = new ILinkClient({ token: bot.token, botId: bot.botId, baseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl });
  sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'hi' });
  const stop = new AbortController();
  let message: Message | undefined;
  await client.listen(
    (m) => {
      message = m;
      stop.abort();
    },
    { signal: stop.signal },
  );
  return { client, botId: bot.botId, message: message! };
}

describe('reading a payload', () => {
  const names = { payload: 'msg.payload', fileName: 'msg.filename' };

  test('text, one media (Buffer with its name, or an upload), or a list; a Buffer as JSON counts as a Buffer', () => {
    expect(readOutbound({ payload: 'hi' }, names)).toEqual({ kind: 'text', text: 'hi' });
    expect(readOutbound({ payload: 42 }, names)).toEqual({ kind: 'text', text: '42' });
    const json = JSON.parse(JSON.stringify(PNG_1X1)) as unknown;
    expect(asBuffer(json)!.equals(PNG_1X1)).toBe(true);
    expect(readOutbound({ payload: json, fileName: ' dot.png ', caption: ' look ' }, names)).toEqual({ kind: 'media', data: PNG_1X1, fileName: 'dot.png', caption: 'look' });
    expect(readOutbound({ payload: ['a', 1, { data: PNG_1X1, filename: 'x.png' }, { type: 'text', text: 'b' }] }, names)).toEqual({
      kind: 'parts',
      parts: [{ text: 'a' }, { text: '1' }, { file: PNG_1X1, fileName: 'x.png' }, { item: { type: 'text', text: 'b' } }],
      caption: undefined,
    });
  });

  test.each<[string, unknown, RegExp]>([
    ['a Buffer without its name', { payload: PNG_1X1 }, /^msg\.payload is a Buffer but msg\.filename is missing: set msg\.filename/],
    ['an empty text', { payload: '  ' }, /^msg\.payload is empty: nothing to send/],
    ['an empty list', { payload: [] }, /^msg\.payload is an empty list/],
    ['an object', { payload: { a: 1 } }, /^msg\.payload must be a text, a Buffer with msg\.filename/],
    ['a file part without a name', { payload: ['ok', { data: PNG_1X1 }] }, /^msg\.payload\[1\] is a file without a file name: give it \{data, filename\}/],
    ['a part that is nothing sendable', { payload: [null] }, /^msg\.payload\[0\] cannot be sent: use a text/],
  ])('%s is refused with what to do, naming the host\'s fields', (_name, input, error) => {
    const read = () => readOutbound(input as { payload: unknown }, names);
    expect(read).toThrow(ValidationError);
    expect(read).toThrow(error);
  });

  test('an upload reference is recognised, also after JSON; other objects are not', () => {
    const reference = { media: { encryptQueryParam: 'p', aesKey: 'k', encryptType: 1 }, mediaType: 1, fileName: 'a.png', plainSize: 1, cipherSize: 16, md5: '', aesKeyHex: '', filekey: '' };
    expect(isUploadedMedia(JSON.parse(JSON.stringify(reference)))).toBe(true);
    expect(isUploadedMedia(PNG_1X1)).toBe(false);
    expect(isUploadedMedia({ media: {} })).toBe(false);
    expect(toOutboundPart(reference, 'x')).toEqual({ uploaded: reference });
  });
});

describe('sending it', () => {
  test('a list as a reply: the caption first, then each part in order; a file is uploaded for the user, an earlier upload reused after JSON', async () => {
    const { client, botId, message } = await clientWithMessage();
    const earlier = JSON.parse(JSON.stringify(await client.uploadMedia(Buffer.from('report body'), { fileName: 'report.txt', toUserId: USER }))) as unknown;
    const request = readOutbound({ payload: ['first', { data: PNG_1X1, filename: 'dot.png' }, earlier], caption: 'here you go' });
    const results = await sendOutbound(client, { replyTo: message }, request);
    expect(results).toHaveLength(4);
    const sent = sim.admin.sentMessages({ botId, to: USER });
    expect(sent.map((r) => r.msg.item_list![0]!.type)).toEqual([1, 1, 2, 4]);
    expect(sent.map((r) => r.msg.item_list![0]!.text_item?.text).slice(0, 2)).toEqual(['here you go', 'first']);
    // One reply run, with the message's context token.
    expect(new Set(sent.map((r) => r.msg.run_id)).size).toBe(1);
    expect(sent.every((r) => r.msg.context_token === message.contextToken)).toBe(true);
    const image = sent[2]!.msg.item_list![0]!.image_item!.media!;
    expect(sim.cdn.decryptStored(image.encrypt_query_param!, image.aes_key!)!.equals(PNG_1X1)).toBe(true);
    const file = sent[3]!.msg.item_list![0]!.file_item!;
    expect(file.file_name).toBe('report.txt');
    expect(sim.cdn.decryptStored(file.media!.encrypt_query_param!, file.media!.aes_key!)!.toString()).toBe('report body');
  });

  test('one media to a user: caption, then the media; a text alone is one message', async () => {
    const { client, botId } = await clientWithMessage();
    await sendOutbound(client, { to: USER }, readOutbound({ payload: PNG_1X1, fileName: 'dot.png', caption: 'a dot' }));
    await sendOutbound(client, { to: USER }, readOutbound({ payload: 'bye' }));
    const sent = sim.admin.sentMessages({ botId, to: USER });
    expect(sent.map((r) => r.msg.item_list![0]!.type)).toEqual([1, 2, 1]);
    expect(sent.map((r) => r.msg.item_list![0]!.text_item?.text)).toEqual(['a dot', undefined, 'bye']);
  });

  test('an aborted signal stops the upload of a part: nothing is sent', async () => {
    const { client, botId } = await clientWithMessage();
    const closing = new AbortController();
    closing.abort();
    const request = readOutbound({ payload: ['text first', { data: PNG_1X1, filename: 'dot.png' }] });
    await expect(sendOutbound(client, { to: USER }, request, { signal: closing.signal })).rejects.toThrow(/abort/i);
    expect(sim.admin.sentMessages({ botId, to: USER })).toEqual([]);
  });
});
