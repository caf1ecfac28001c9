import { createHash } from 'node:crypto';
import { request } from 'undici';
import { encryptAesEcb, paddedSize } from '../../shared/media';
import { OVERSIZED_BODY_BYTES, SimCdn, startStandaloneCdn, type StandaloneCdn } from '../../simulator/cdn';
import type { GetUploadUrlRequest } from '../../shared/wire';

const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const plain = Buffer.from('hello simulator cdn, this is the plaintext');

function announce(overrides: Partial<GetUploadUrlRequest> = {}): GetUploadUrlRequest {
  return {
    filekey: 'ab'.repeat(16),
    media_type: 3,
    to_user_id: 'u@im.wechat',
    rawsize: plain.length,
    rawfilemd5: createHash('md5').update(plain).digest('hex'),
    filesize: paddedSize(plain.length),
    no_need_thumb: true,
    aeskey: key.toString('hex'),
    base_info: {},
    ...overrides,
  };
}

async function post(s: StandaloneCdn, param: string, filekey: string, body: Buffer, method = 'POST') {
  const url = `${s.cdnBaseUrl}/upload?encrypted_query_param=${encodeURIComponent(param)}&filekey=${encodeURIComponent(filekey)}`;
  const response = await request(url, { method: method as 'POST', body: method === 'POST' ? body : undefined });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

async function get(s: StandaloneCdn, param: string) {
  const response = await request(`${s.cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(param)}`);
  return { status: response.statusCode, data: Buffer.from(await response.body.arrayBuffer()), headers: response.headers };
}

describe('SimCdn (strict)', () => {
  let s: StandaloneCdn;
  beforeEach(async () => {
    s = await startStandaloneCdn({ strict: true });
  });
  afterEach(() => s.close());

  it('accepts an authorized upload, answers x-encrypted-param, and serves the ciphertext back', async () => {
    const { upload_param } = s.cdn.authorizeUpload(announce());
    const ciphertext = encryptAesEcb(key, plain);
    const answer = await post(s, upload_param, 'ab'.repeat(16), ciphertext);
    expect(answer.status).toBe(200);
    const param = answer.headers['x-encrypted-param'] as string;
    expect(param).toBeTruthy();
    expect(param).not.toBe(upload_param);
    expect(s.cdn.readObject(param)?.upload).toMatchObject({ filekey: 'ab'.repeat(16), rawsize: plain.length, mediaType: 3 });
    const download = await get(s, param);
    expect(download.status).toBe(200);
    expect(download.data.equals(ciphertext)).toBe(true);
    expect(s.cdn.decryptStored(param, key.toString('base64'))!.equals(plain)).toBe(true);
    // A repeated upload with the same param (a retry whose answer was lost) gets the same download param.
    expect((await post(s, upload_param, 'ab'.repeat(16), ciphertext)).headers['x-encrypted-param']).toBe(param);
  });

  it.each([
    ['unknown param', () => ['nope', 'ab'.repeat(16), encryptAesEcb(key, plain)], /unknown encrypted_query_param/],
    ['filekey mismatch', (p: string) => [p, 'cd'.repeat(16), encryptAesEcb(key, plain)], /filekey/],
    ['wrong length', (p: string) => [p, 'ab'.repeat(16), Buffer.concat([encryptAesEcb(key, plain), Buffer.alloc(16)])], /announced filesize/],
    ['wrong key', (p: string) => [p, 'ab'.repeat(16), encryptAesEcb(Buffer.alloc(16, 3), plain)], /decrypt|MD5|size/],
    [
      'wrong content (same size)',
      (p: string) => [p, 'ab'.repeat(16), encryptAesEcb(key, Buffer.from(plain.toString().toUpperCase()))],
      /MD5/,
    ],
  ] as const)('rejects %s with 400 and x-error-message', async (_name, make, pattern) => {
    const { upload_param } = s.cdn.authorizeUpload(announce());
    const [param, filekey, body] = (make as (p: string) => [string, string, Buffer])(upload_param);
    const answer = await post(s, param, filekey, body);
    expect(answer.status).toBe(400);
    expect(answer.headers['x-error-message']).toMatch(pattern);
    expect(answer.headers['x-encrypted-param']).toBeUndefined();
  });

  it('strict mode checks that filesize is the padded rawsize', async () => {
    const { upload_param } = s.cdn.authorizeUpload(announce({ rawsize: plain.length + 1 }));
    const answer = await post(s, upload_param, 'ab'.repeat(16), encryptAesEcb(key, plain));
    expect(answer.status).toBe(400);
    expect(answer.headers['x-error-message']).toMatch(/size|padded/);
  });

  it('wrong methods → 405; unknown path → 404; unknown download → 404', async () => {
    const { upload_param } = s.cdn.authorizeUpload(announce());
    expect((await post(s, upload_param, 'ab'.repeat(16), Buffer.alloc(0), 'GET')).status).toBe(405);
    const put = await request(`${s.cdnBaseUrl}/download?encrypted_query_param=x`, { method: 'PUT', body: 'x' });
    await put.body.dump();
    expect(put.statusCode).toBe(405);
    const other = await request(`${s.cdnBaseUrl}/whatever`);
    await other.body.dump();
    expect(other.statusCode).toBe(404);
    expect((await get(s, 'unknown')).status).toBe(404);
  });

  it('faults apply to the given number of requests, then stop', async () => {
    const { upload_param } = s.cdn.authorizeUpload(announce());
    const body = encryptAesEcb(key, plain);
    s.cdn.injectFault({ op: 'upload', kind: 'status500', count: 2 });
    expect((await post(s, upload_param, 'ab'.repeat(16), body)).status).toBe(500);
    expect((await post(s, upload_param, 'ab'.repeat(16), body)).status).toBe(500);
    s.cdn.injectFault({ op: 'upload', kind: 'noEncryptedParam' });
    const noHeader = await post(s, upload_param, 'ab'.repeat(16), body);
    expect(noHeader.status).toBe(200);
    expect(noHeader.headers['x-encrypted-param']).toBeUndefined();
    s.cdn.injectFault({ op: 'upload', kind: 'status4xx', status: 413, message: 'too big' });
    const rejected = await post(s, upload_param, 'ab'.repeat(16), body);
    expect([rejected.status, rejected.headers['x-error-message']]).toEqual([413, 'too big']);
    expect((await post(s, upload_param, 'ab'.repeat(16), body)).status).toBe(200);
    expect(s.cdn.requests.map((r) => r.status)).toEqual([500, 500, 200, 413, 200]);
  });

  it('truncatedBody announces the full length and cuts the connection', async () => {
    const param = s.cdn.storeObject(Buffer.alloc(100_000, 7));
    s.cdn.injectFault({ op: 'download', kind: 'truncatedBody' });
    const response = await request(`${s.cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(param)}`);
    expect(response.headers['content-length']).toBe('100000');
    await expect(response.body.arrayBuffer()).rejects.toThrow();
  });

  it('oversizedBody announces 150 MiB, sends the first KiB and holds the rest', async () => {
    const param = s.cdn.storeObject(Buffer.alloc(100_000, 7));
    s.cdn.injectFault({ op: 'download', kind: 'oversizedBody' });
    const response = await request(`${s.cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(param)}`);
    expect(response.headers['content-length']).toBe(String(OVERSIZED_BODY_BYTES));
    let received = 0;
    response.body.on('data', (chunk: Buffer) => (received += chunk.length));
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toBe(1024);
    response.body.destroy();
    expect((await get(s, param)).data.length).toBe(100_000); // one request only
  });

  it('encryptAndStore builds the wire items the real server sends (§7)', async () => {
    const image = await s.cdn.encryptAndStore(plain, { kind: 'image' });
    expect(image.type).toBe(2);
    expect(image.image_item?.media?.encrypt_type).toBe(1);
    expect(image.image_item?.mid_size).toBe(paddedSize(plain.length));
    const file = await s.cdn.encryptAndStore(plain, { kind: 'file', fileName: 'a.txt' });
    expect(file.file_item).toMatchObject({ file_name: 'a.txt', len: String(plain.length), md5: createHash('md5').update(plain).digest('hex') });
    expect(s.cdn.decryptStored(file.file_item!.media!.encrypt_query_param!, file.file_item!.media!.aes_key!)!.equals(plain)).toBe(true);
    const voice = await s.cdn.encryptAndStore(plain, { kind: 'voice', playtimeMs: 1234 });
    expect(voice.voice_item).toMatchObject({ encode_type: 6, sample_rate: 24000, playtime: 1234 });
    expect(s.cdn.decryptStored('unknown', file.file_item!.media!.aes_key!)).toBeUndefined();
    s.cdn.reset();
    expect(s.cdn.readObject(file.file_item!.media!.encrypt_query_param!)).toBeUndefined();
  });
});

describe('SimCdn (lenient)', () => {
  it('does not decrypt uploads, but still checks param, filekey and length', async () => {
    const s = await startStandaloneCdn({ strict: false });
    try {
      const { upload_param } = s.cdn.authorizeUpload(announce());
      const wrongKey = encryptAesEcb(Buffer.alloc(16, 3), plain);
      expect((await post(s, upload_param, 'ab'.repeat(16), wrongKey)).status).toBe(200);
      expect((await post(s, upload_param, 'cd'.repeat(16), wrongKey)).status).toBe(400);
    } finally {
      await s.close();
    }
  });

  it('is constructible on its own with the fixed interface', () => {
    const cdn = new SimCdn({ strict: true });
    expect(cdn.readObject(cdn.storeObject(Buffer.alloc(16)))?.ciphertext.length).toBe(16);
  });
});
