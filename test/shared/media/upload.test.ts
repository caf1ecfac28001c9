import { ValidationError } from '../../../shared/errors';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  buildMediaItem,
  decryptAesEcb,
  MediaError,
  parseAesKey,
  paddedSize,
  uploadMedia,
  uploadUrl,
} from '../../../shared/media';
import type { Transport } from '../../../shared/transport';
import { bytes, rejection, startHarness, type Harness } from './helpers';

let h: Harness;
let dir: string;

beforeEach(async () => {
  h = await startHarness({ strict: true });
  dir = await mkdtemp(join(tmpdir(), 'ilink-upload-test-'));
});
afterEach(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

const ctx = (maxBytes?: number) => ({ transport: h.transport, cdnBaseUrl: h.cdnBaseUrl, maxBytes });
const uploads = () => h.cdn.requests.filter((r) => r.op === 'upload');
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('uploadMedia: getuploadurl and CDN (§7 steps 1–7)', () => {
  it('sends the official getuploadurl body and stores the ciphertext byte-for-byte', async () => {
    const data = bytes(1000);
    const result = await uploadMedia(ctx(), data, { fileName: 'photo.png', toUserId: 'u@im.wechat' });

    expect(h.uploadUrlRequests).toHaveLength(1);
    const body = h.uploadUrlRequests[0]!;
    expect(body).toEqual({
      filekey: result.filekey,
      media_type: 1,
      to_user_id: 'u@im.wechat',
      rawsize: 1000,
      rawfilemd5: md5(data),
      filesize: 1008,
      no_need_thumb: true,
      aeskey: result.aesKeyHex,
      base_info: expect.objectContaining({ channel_version: expect.any(String) }),
    });
    expect(body.filekey).toMatch(/^[0-9a-f]{32}$/);
    expect(body.aeskey).toMatch(/^[0-9a-f]{32}$/);

    expect(result.cipherSize).toBe(paddedSize(1000));
    expect(result.media.encryptType).toBe(1);
    expect(result.media.aesKey).toHaveLength(44);
    expect(parseAesKey(result.media.aesKey!).toString('hex')).toBe(result.aesKeyHex);

    // The download param comes from x-encrypted-param, not the upload param (§8 row 25).
    const stored = h.cdn.readObject(result.media.encryptQueryParam!);
    expect(stored).toBeDefined();
    expect(decryptAesEcb(Buffer.from(result.aesKeyHex, 'hex'), stored!.ciphertext).equals(data)).toBe(true);
    expect(h.cdn.decryptStored(result.media.encryptQueryParam!, result.media.aesKey!)!.equals(data)).toBe(true);

    // One POST, with the right content type and no auth headers (§2: CDN calls carry none).
    expect(uploads()).toHaveLength(1);
    const headers = uploads()[0]!.headers;
    expect(headers['content-type']).toBe('application/octet-stream');
    expect(headers.authorization).toBeUndefined();
    expect(headers.authorizationtype).toBeUndefined();
    expect(headers['x-wechat-uin']).toBeUndefined();
  });

  it.each([
    ['clip.mp4', 2],
    ['notes.txt', 3],
    ['voice.mp3', 3],
  ])('media_type for %s is %i, and the item is built per §7 step 8', async (fileName, type) => {
    const data = bytes(50);
    const result = await uploadMedia(ctx(), data, { fileName, toUserId: 'u@im.wechat' });
    expect(h.uploadUrlRequests[0]!.media_type).toBe(type);
    const item = buildMediaItem(result);
    expect(item.type).toBe(type === 2 ? 5 : 4);
    if (type === 3) expect(item.file_item?.len).toBe('50');
    else expect(item.video_item?.video_size).toBe(64);
  });

  it('an explicit mediaType overrides the guess', async () => {
    await uploadMedia(ctx(), bytes(10), { fileName: 'photo.png', toUserId: 'u', mediaType: 3 });
    expect(h.uploadUrlRequests[0]!.media_type).toBe(3);
  });

  it('uploads from a file path and from a stream (spooled, temp file removed)', async () => {
    const data = bytes(300 * 1024 + 5, 7);
    const path = join(dir, 'big.bin');
    await writeFile(path, data);
    const fromPath = await uploadMedia(ctx(), path, { fileName: 'big.bin', toUserId: 'u' });
    expect(h.cdn.decryptStored(fromPath.media.encryptQueryParam!, fromPath.media.aesKey!)!.equals(data)).toBe(true);
    expect(fromPath.md5).toBe(md5(data));

    const before = (await readdir(tmpdir())).filter((n) => n.startsWith('ilink-media-')).length;
    const stream = Readable.from([data.subarray(0, 1000), data.subarray(1000)]);
    const fromStream = await uploadMedia(ctx(), stream, { fileName: 'big.bin', toUserId: 'u' });
    expect(h.cdn.decryptStored(fromStream.media.encryptQueryParam!, fromStream.media.aesKey!)!.equals(data)).toBe(true);
    expect(fromStream.plainSize).toBe(data.length);
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('ilink-media-')).length;
    expect(after).toBe(before);
  });

  it('a file that shrinks after the hash pass fails clearly, without retries; one that grows sends the hashed bytes', async () => {
    const { prepareSource } = await import('../../../shared/media/source');
    const path = join(dir, 'moving.bin');
    const data = bytes(2500 * 1024, 9); // several 1 MiB reads
    await writeFile(path, data);
    const key = Buffer.alloc(16, 5);

    const shrinking = await prepareSource(path, 1 << 30);
    await truncate(path, 1000);
    const error = await rejection(Readable.from(shrinking.openCiphertext(key)).toArray());
    expect(error).toBeInstanceOf(MediaError);
    expect(error.kind).toBe('source_changed');
    expect(error.message).toMatch(/changed during the upload: it now has 1000 bytes, 2560000 were announced/);

    await writeFile(path, data);
    const growing = await prepareSource(path, 1 << 30);
    await appendFile(path, bytes(5000));
    const sent = Buffer.concat(await growing.openCiphertext(key).toArray());
    expect(sent.length).toBe(paddedSize(data.length));
    expect(decryptAesEcb(key, sent).equals(data)).toBe(true);

    // Through uploadMedia (the file shrinks while getuploadurl is answered): the error surfaces as is, after one attempt.
    await writeFile(path, data);
    const transport = {
      post: async (...args: Parameters<Transport['post']>) => {
        const answer = await h.transport.post(...args);
        await truncate(path, 1000);
        return answer;
      },
    } as unknown as Transport;
    const failed = await rejection(uploadMedia({ transport, cdnBaseUrl: h.cdnBaseUrl }, path, { fileName: 'moving.bin', toUserId: 'u' }));
    expect(failed.kind).toBe('source_changed');
    expect(uploads().length).toBeLessThanOrEqual(1);
  });

  it('an empty file is refused before any request, saying so', async () => {
    const error = await rejection(uploadMedia(ctx(), Buffer.alloc(0), { fileName: 'empty.txt', toUserId: 'u' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('empty.txt is empty (0 bytes): there is nothing to send; check the file or the binary property');
    expect(h.uploadUrlRequests).toHaveLength(0);
    expect(uploads()).toHaveLength(0);
  });

  it.each([
    ['a name over 255 bytes in UTF-8', `${'文'.repeat(86)}.txt`, 'the file name is 262 bytes long in UTF-8; at most 255 are allowed: give a shorter name'],
    ['a line break in the name', 'report\n.pdf', 'the file name contains control characters (a line break, a tab, …): give a plain name such as report.pdf'],
    ['a NUL in the name', 'a\u0000.pdf', 'the file name contains control characters (a line break, a tab, …): give a plain name such as report.pdf'],
    ['no name', '  ', 'uploadMedia needs a fileName (it sets the media type and the name the user sees)'],
  ])('%s is refused before any request', async (_what, fileName, message) => {
    const error = await rejection(uploadMedia(ctx(), bytes(10), { fileName, toUserId: 'u' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(message);
    expect(h.uploadUrlRequests).toHaveLength(0);
  });

  it('a 255-byte name is fine; voice (4) and unknown media types are refused before any request', async () => {
    await uploadMedia(ctx(), bytes(10), { fileName: `${'a'.repeat(251)}.txt`, toUserId: 'u' });
    const voice = await rejection(uploadMedia(ctx(), bytes(10), { fileName: 'a.silk', toUserId: 'u', mediaType: 4 as never }));
    expect(voice.message).toMatch(/cannot send a voice bubble .* send the audio as a file/);
    const unknown = await rejection(uploadMedia(ctx(), bytes(10), { fileName: 'a.bin', toUserId: 'u', mediaType: 9 as never }));
    expect(unknown.message).toBe('unknown media type 9: use 1 (image), 2 (video) or 3 (file), or leave it out to choose by the file name');
    expect(h.uploadUrlRequests).toHaveLength(1);
  });

  it('uses upload_full_url when the server gives one (trimmed)', async () => {
    h.overrideUploadUrlAnswer = (req, normal) => ({
      upload_full_url: `  ${h.cdnBaseUrl}/upload?encrypted_query_param=${encodeURIComponent(normal.upload_param)}&filekey=${req.filekey}  `,
      upload_param: 'this-would-be-rejected',
    });
    const result = await uploadMedia(ctx(), bytes(20), { fileName: 'a.txt', toUserId: 'u' });
    expect(h.cdn.readObject(result.media.encryptQueryParam!)).toBeDefined();
  });

  it('upload URL fallback: {cdn}/upload with both params URL-encoded; neither → error', () => {
    expect(uploadUrl('http://cdn/c2c/', { upload_param: 'a+b/c=' }, 'ff')).toBe(
      'http://cdn/c2c/upload?encrypted_query_param=a%2Bb%2Fc%3D&filekey=ff',
    );
    expect(uploadUrl('http://cdn/c2c', { upload_full_url: ' http://x/y ', upload_param: 'p' }, 'ff')).toBe('http://x/y');
    expect(() => uploadUrl('http://cdn/c2c', { upload_full_url: '  ' }, 'ff')).toThrow(expect.objectContaining({ kind: 'no_media' }));
  });

  it('getuploadurl answer without any URL fails before touching the CDN', async () => {
    h.overrideUploadUrlAnswer = () => ({});
    const error = await rejection(uploadMedia(ctx(), bytes(20), { fileName: 'a.txt', toUserId: 'u' }));
    expect(error).toBeInstanceOf(MediaError);
    expect(error.kind).toBe('no_media');
    expect(uploads()).toHaveLength(0);
  });
});

describe('uploadMedia: retries (§7 step 6)', () => {
  it('a 4xx is not retried and carries x-error-message', async () => {
    h.cdn.injectFault({ op: 'upload', kind: 'status4xx', status: 403, message: 'quota exceeded for this bot', count: 3 });
    const error = await rejection(uploadMedia(ctx(), bytes(100), { fileName: 'a.txt', toUserId: 'u' }));
    expect(error).toBeInstanceOf(MediaError);
    expect(error.kind).toBe('cdn_rejected');
    expect(error.status).toBe(403);
    expect(error.message).toContain('quota exceeded for this bot');
    expect(uploads()).toHaveLength(1);
  });

  it('5xx is retried: 3 attempts in all, then a clear error', async () => {
    h.cdn.injectFault({ op: 'upload', kind: 'status500', count: 5 });
    const error = await rejection(uploadMedia(ctx(), bytes(100), { fileName: 'a.txt', toUserId: 'u' }));
    expect(error.kind).toBe('cdn_status');
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/after 3 attempts.*HTTP 500/);
    expect(uploads().map((r) => r.status)).toEqual([500, 500, 500]);
  });

  it('succeeds on the third attempt, re-sending the whole body each time (file source)', async () => {
    const data = bytes(200 * 1024, 3);
    const path = join(dir, 'retry.bin');
    await writeFile(path, data);
    h.cdn.injectFault({ op: 'upload', kind: 'status500', count: 2 });
    const result = await uploadMedia(ctx(), path, { fileName: 'retry.bin', toUserId: 'u' });
    expect(uploads().map((r) => [r.status, r.bytes])).toEqual([
      [500, paddedSize(data.length)],
      [500, paddedSize(data.length)],
      [200, paddedSize(data.length)],
    ]);
    expect(h.cdn.decryptStored(result.media.encryptQueryParam!, result.media.aesKey!)!.equals(data)).toBe(true);
  });

  it('200 without x-encrypted-param is retried', async () => {
    h.cdn.injectFault({ op: 'upload', kind: 'noEncryptedParam', count: 1 });
    const result = await uploadMedia(ctx(), bytes(10), { fileName: 'a.txt', toUserId: 'u' });
    expect(uploads()).toHaveLength(2);
    expect(result.media.encryptQueryParam).toBeTruthy();
  });

  it('200 without x-encrypted-param three times → cdn_missing_param', async () => {
    h.cdn.injectFault({ op: 'upload', kind: 'noEncryptedParam', count: 3 });
    const error = await rejection(uploadMedia(ctx(), bytes(10), { fileName: 'a.txt', toUserId: 'u' }));
    expect(error.kind).toBe('cdn_missing_param');
    expect(uploads()).toHaveLength(3);
  });

  it('a network error is retried 3 times', async () => {
    const error = await rejection(
      uploadMedia({ transport: h.transport, cdnBaseUrl: 'http://127.0.0.1:1/c2c' }, bytes(10), { fileName: 'a.txt', toUserId: 'u' }),
    );
    expect(error.kind).toBe('cdn_network');
    expect(error.attempts).toBe(3);
  });

  it('an aborted signal stops the upload', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(uploadMedia(ctx(), bytes(10), { fileName: 'a.txt', toUserId: 'u', signal: controller.signal }));
    expect(error.name).toBe('AbortError');
    expect(uploads()).toHaveLength(0);
  });
});

describe('uploadMedia: size cap', () => {
  it('a Buffer over the cap fails before anything is sent, naming size and limit', async () => {
    const error = await rejection(uploadMedia(ctx(1024), bytes(1025), { fileName: 'a.bin', toUserId: 'u' }));
    expect(error).toBeInstanceOf(MediaError);
    expect(error.kind).toBe('too_large');
    expect(error.message).toContain('1025 bytes');
    expect(error.message).toContain('1 KiB (1024 bytes)');
    expect(h.uploadUrlRequests).toHaveLength(0);
    expect(h.cdn.requests).toHaveLength(0);
  });

  it('a file over the cap fails before anything is sent', async () => {
    const path = join(dir, 'big.bin');
    await writeFile(path, bytes(3 * 1024 * 1024));
    const error = await rejection(uploadMedia(ctx(2 * 1024 * 1024), path, { fileName: 'big.bin', toUserId: 'u' }));
    expect(error.kind).toBe('too_large');
    expect(error.message).toContain('3 MiB');
    expect(error.message).toContain('limit is 2 MiB');
    expect(h.uploadUrlRequests).toHaveLength(0);
    expect(h.cdn.requests).toHaveLength(0);
  });

  it('a stream over the cap fails while spooling, before anything is sent', async () => {
    const stream = Readable.from((function* () {
      for (let i = 0; i < 40; i++) yield bytes(64 * 1024, i + 1);
    })());
    const error = await rejection(uploadMedia(ctx(1024 * 1024), stream, { fileName: 'big.bin', toUserId: 'u' }));
    expect(error.kind).toBe('too_large');
    expect(h.uploadUrlRequests).toHaveLength(0);
    expect(h.cdn.requests).toHaveLength(0);
  });

  it('exactly at the cap is allowed', async () => {
    const result = await uploadMedia(ctx(4096), bytes(4096), { fileName: 'a.bin', toUserId: 'u' });
    expect(result.cipherSize).toBe(4112);
  });

  it('a missing file is a ValidationError', async () => {
    const error = await rejection(uploadMedia(ctx(), join(dir, 'nope.bin'), { fileName: 'nope.bin', toUserId: 'u' }));
    expect(error.name).toBe('ValidationError');
  });
});
