/**
 * Media on the chat page over real HTTP: a person uploads as a WeChat user
 * (POST /_chat/upload, /_chat/voice-sample), the bot (the client core)
 * receives and downloads it byte-exact, and media the bot sends is served
 * decrypted by GET /_chat/media with the right type and name.
 */
import { request } from 'undici';
import { ILinkClient } from '../../shared/client';
import { parseAesKey } from '../../shared/media/keys';
import { silkToWav } from '../../shared/media/voice';
import type { Message } from '../../shared/model';
import type { MessageItem } from '../../shared/wire';
import type { Simulator } from '../../simulator';
import { contentDisposition } from '../../simulator/chat-media';
import { makeSampleSilk } from '../../simulator/silk-sample';
import { useSimulator } from './helpers';
import { makePng } from './png';

const getSim = useSimulator();
const USER = 'alice@im.wechat';
const MiB = 1024 * 1024;

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function httpRequest(url: string, method: 'GET' | 'POST', body?: Buffer): Promise<HttpAnswer> {
  const response = await request(url, { method, body, headers: body ? { 'Content-Type': 'application/octet-stream' } : undefined });
  return { status: response.statusCode, headers: response.headers, body: Buffer.from(await response.body.arrayBuffer()) };
}

function upload(sim: Simulator, params: Record<string, string>, body: Buffer): Promise<HttpAnswer> {
  return httpRequest(`${sim.url}/_chat/upload?${new URLSearchParams(params)}`, 'POST', body);
}

function getMedia(sim: Simulator, botId: string, messageId: string, index = 0): Promise<HttpAnswer> {
  return httpRequest(`${sim.url}/_chat/media?${new URLSearchParams({ botId, messageId, index: String(index) })}`, 'GET');
}

/** Uploads as USER and returns the injected wire item. */
async function uploadAs(sim: Simulator, botId: string, kind: string, data: Buffer, fileName?: string): Promise<{ messageId: string; item: MessageItem }> {
  const answer = await upload(sim, { botId, userId: USER, kind, ...(fileName ? { fileName } : {}) }, data);
  expect(answer.status).toBe(200);
  const { messageId } = JSON.parse(answer.body.toString()) as { messageId: string };
  const entry = sim.admin.timeline(botId).find((candidate) => candidate.messageId === messageId);
  expect(entry?.direction).toBe('in');
  expect(entry?.userId).toBe(USER);
  return { messageId, item: entry!.items[0]! };
}

function decrypt(sim: Simulator, item: MessageItem): Buffer | undefined {
  const media = item.image_item?.media ?? item.file_item?.media ?? item.voice_item?.media ?? item.video_item?.media;
  return sim.cdn.decryptStored(media!.encrypt_query_param!, media!.aes_key!);
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A core client polling the bot; collect what it receives. */
function botClient(sim: Simulator, bot: { token: string; botId: string }) {
  const client = new ILinkClient({ token: bot.token, baseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl, botId: bot.botId });
  const received: Message[] = [];
  const poller = client.createPoller(async (message) => {
    received.push(message);
  });
  const done = poller.start();
  const stop = async () => {
    await poller.stop();
    await done;
  };
  return { client, received, stop };
}

test('uploads as the user inject image, file and voice items as the real server sends them, decrypting to the uploaded bytes', async () => {
  const sim = getSim();
  const bot = sim.admin.createBot();
  const png = makePng();
  const doc = Buffer.from('季度报告 quarterly report\n'.repeat(300));
  const silk = await makeSampleSilk();

  const image = await uploadAs(sim, bot.botId, 'image', png, 'photo.png');
  expect(image.item.type).toBe(2);
  expect(image.item.image_item?.aeskey).toMatch(/^[0-9a-f]{32}$/);
  expect(Buffer.from(image.item.image_item!.media!.aes_key!, 'base64')).toHaveLength(16); // raw key for images
  expect(image.item.image_item?.media?.encrypt_type).toBe(1);
  expect(decrypt(sim, image.item)?.equals(png)).toBe(true);

  const file = await uploadAs(sim, bot.botId, 'file', doc, 'C:\\fakepath\\报告 2024.txt');
  expect(file.item.type).toBe(4);
  expect(file.item.file_item?.file_name).toBe('报告 2024.txt');
  expect(file.item.file_item?.len).toBe(String(doc.length));
  expect(file.item.file_item?.media?.aes_key).toHaveLength(44); // base64 of the hex string
  expect(Buffer.from(file.item.file_item!.media!.aes_key!, 'base64').toString('latin1')).toMatch(/^[0-9a-f]{32}$/);
  expect(decrypt(sim, file.item)?.equals(doc)).toBe(true);

  const voice = await uploadAs(sim, bot.botId, 'voice', silk);
  expect(voice.item.type).toBe(3);
  expect(voice.item.voice_item?.encode_type).toBe(6);
  expect(voice.item.voice_item?.playtime).toBeGreaterThan(1000);
  expect(parseAesKey(voice.item.voice_item!.media!.aes_key!)).toHaveLength(16);
  expect(decrypt(sim, voice.item)?.equals(silk)).toBe(true);
});

test('the bot (client core) downloads what the user uploaded byte-exact, voice as WAV', async () => {
  const sim = getSim();
  const bot = sim.admin.createBot();
  const png = makePng(40, 30, 90);
  const doc = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
  const silk = await makeSampleSilk();
  await uploadAs(sim, bot.botId, 'image', png);
  await uploadAs(sim, bot.botId, 'file', doc, 'data.bin');
  await uploadAs(sim, bot.botId, 'voice', silk);

  const { client, received, stop } = botClient(sim, bot);
  try {
    await until(() => received.length === 3);
  } finally {
    await stop();
  }
  expect(received.map((message) => message.items[0]?.type)).toEqual(['image', 'file', 'voice']);
  const [image, file, voice] = await Promise.all(received.map((message) => client.downloadMedia(message)));
  expect(image!.data.equals(png)).toBe(true);
  expect(image!.mimeType).toBe('image/png');
  expect(file!.data.equals(doc)).toBe(true);
  expect(file!.fileName).toBe('data.bin');
  expect(voice!.mimeType).toBe('audio/wav');
  expect(voice!.data.equals((await silkToWav(silk)).data)).toBe(true);
});

test('media the bot sends is served decrypted by /_chat/media with its type and name', async () => {
  const sim = getSim();
  const bot = sim.admin.createBot();
  const { client, received, stop } = botClient(sim, bot);
  const png = makePng(50, 50, 40);
  const notes = Buffer.from('会议纪要 meeting notes\n'.repeat(50));
  const video = Buffer.concat([Buffer.from('0000001866747970', 'hex'), Buffer.alloc(3000, 5)]);
  try {
    sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'send me things' }); // gives the bot a context token
    await until(() => received.length === 1);
    await client.sendMedia(USER, png, { fileName: 'chart.png' });
    await client.sendMedia(USER, notes, { fileName: '纪要 "v2".txt' });
    await client.sendMedia(USER, video, { fileName: 'clip.mp4' });
  } finally {
    await stop();
  }
  const sent = sim.admin.timeline(bot.botId).filter((entry) => entry.direction === 'out');
  expect(sent.map((entry) => entry.items[0]?.type)).toEqual([2, 4, 5]);

  const image = await getMedia(sim, bot.botId, sent[0]!.messageId);
  expect(image.status).toBe(200);
  expect(image.headers['content-type']).toBe('image/png');
  expect(image.headers['content-disposition']).toBe('inline; filename="image.png"');
  expect(image.body.equals(png)).toBe(true);

  const file = await getMedia(sim, bot.botId, sent[1]!.messageId);
  expect(file.status).toBe(200);
  expect(file.headers['content-type']).toBe('text/plain');
  expect(file.headers['content-disposition']).toBe(`attachment; filename="__ _v2_.txt"; filename*=UTF-8''${encodeURIComponent('纪要 "v2".txt')}`);
  expect(file.body.equals(notes)).toBe(true);

  const clip = await getMedia(sim, bot.botId, sent[2]!.messageId);
  expect(clip.headers['content-type']).toBe('video/mp4');
  expect(clip.body.equals(video)).toBe(true);
});

test('the voice sample arrives as SILK and /_chat/media serves it as playable WAV; user images are sniffed', async () => {
  const sim = getSim();
  const bot = sim.admin.createBot();
  const sample = await httpRequest(`${sim.url}/_chat/voice-sample?botId=${encodeURIComponent(bot.botId)}&userId=${encodeURIComponent(USER)}`, 'POST');
  expect(sample.status).toBe(200);
  const { messageId } = JSON.parse(sample.body.toString()) as { messageId: string };
  const entry = sim.admin.timeline(bot.botId).find((candidate) => candidate.messageId === messageId)!;
  const silk = decrypt(sim, entry.items[0]!)!;
  expect(silk.subarray(0, 10).toString('latin1')).toContain('#!SILK_V3');

  const wav = await getMedia(sim, bot.botId, messageId);
  expect(wav.status).toBe(200);
  expect(wav.headers['content-type']).toBe('audio/wav');
  expect(wav.headers['content-disposition']).toBe('inline; filename="voice.wav"');
  expect(wav.body.subarray(0, 4).toString('latin1')).toBe('RIFF');
  expect(wav.body.readUInt32LE(24)).toBe(24000);
  expect(wav.body.length - 44).toBeGreaterThan(24000 * 2); // over a second of 16-bit mono

  const png = makePng(8, 8);
  const image = await uploadAs(sim, bot.botId, 'image', png);
  const served = await getMedia(sim, bot.botId, image.messageId);
  expect(served.headers['content-type']).toBe('image/png');
  expect(served.body.equals(png)).toBe(true);
});

test('an upload over 100 MiB answers 413 with a clear message and injects nothing', async () => {
  const sim = getSim();
  const bot = sim.admin.createBot();
  const answer = await upload(sim, { botId: bot.botId, userId: USER, kind: 'file', fileName: 'big.bin' }, Buffer.alloc(100 * MiB + 1));
  expect(answer.status).toBe(413);
  expect(JSON.parse(answer.body.toString()).error).toMatch(/too large.*100 MiB/i);
  expect(sim.admin.timeline(bot.botId)).toHaveLength(0);
});

test('unknown messages, items, bots and bad uploads are refused', async () => {
  const sim = getSim();
  const bot = sim.admin.createBot();
  const text = sim.admin.injectMessage({ botId: bot.botId, from: USER, text: 'plain text' });
  const image = await uploadAs(sim, bot.botId, 'image', makePng(4, 4));

  expect((await getMedia(sim, bot.botId, '9007199254740001')).status).toBe(404);
  expect((await getMedia(sim, bot.botId, image.messageId, 1)).status).toBe(404);
  expect((await getMedia(sim, 'nobody@im.bot', image.messageId)).status).toBe(404);
  expect((await getMedia(sim, bot.botId, text.messageId)).status).toBe(404);
  const missing = await getMedia(sim, bot.botId, '9007199254740001');
  expect(JSON.parse(missing.body.toString()).error).toMatch(/unknown message/);

  expect((await upload(sim, { botId: bot.botId, userId: USER, kind: 'sticker' }, Buffer.from('x'))).status).toBe(400);
  expect((await upload(sim, { botId: bot.botId, kind: 'file' }, Buffer.from('x'))).status).toBe(400);
  expect((await upload(sim, { botId: 'nobody@im.bot', userId: USER, kind: 'file' }, Buffer.from('x'))).status).toBe(404);
  expect((await upload(sim, { botId: bot.botId, userId: USER, kind: 'file' }, Buffer.alloc(0))).status).toBe(400);
  expect((await httpRequest(`${sim.url}/_chat/upload`, 'GET')).status).toBe(405);
});

test('Content-Disposition: plain names as they are, others with an RFC 5987 filename*', () => {
  expect(contentDisposition('attachment', 'report.pdf')).toBe('attachment; filename="report.pdf"');
  expect(contentDisposition('inline', '图片.png')).toBe("inline; filename=\"__.png\"; filename*=UTF-8''%E5%9B%BE%E7%89%87.png");
  expect(contentDisposition('attachment', "it's 100%.txt")).toBe("attachment; filename=\"it's 100_.txt\"; filename*=UTF-8''it%27s%20100%25.txt");
});
