import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildMediaItem, decryptAesEcb, downloadMedia, encryptAesEcb, MediaError, uploadMedia, wavHeader } from '../../../shared/media';
import type { Item } from '../../../shared/model';
import { makeSampleSilk } from '../../../simulator/silk-sample';
import { bytes, friendlyItem, rejection, startHarness, type Harness } from './helpers';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ strict: true });
});
afterEach(async () => {
  await h.close();
});

const ctx = (maxBytes?: number) => ({ cdnBaseUrl: h.cdnBaseUrl, maxBytes });
const downloads = () => h.cdn.requests.filter((r) => r.op === 'download');
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), bytes(500)]);

describe('downloadMedia: inbound items as the server sends them (§7 Download)', () => {
  it('image with image_item.aeskey (hex) and a raw-key media.aes_key', async () => {
    const wire = await h.cdn.encryptAndStore(PNG, { kind: 'image' });
    expect(wire.image_item?.aeskey).toMatch(/^[0-9a-f]{32}$/);
    expect(Buffer.from(wire.image_item!.media!.aes_key!, 'base64')).toHaveLength(16);
    const result = await downloadMedia(ctx(), friendlyItem(wire));
    expect(result.data.equals(PNG)).toBe(true);
    expect(result).toMatchObject({ kind: 'image', fileName: 'image.png', mimeType: 'image/png', size: PNG.length });
    // Plain GET, no headers of ours.
    expect(downloads()[0]!.headers.authorization).toBeUndefined();
  });

  it('image with only media.aes_key (raw), and one with a hex-format key', async () => {
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), bytes(100)]);
    for (const keyFormat of ['raw', 'hex'] as const) {
      const wire = await h.cdn.encryptAndStore(jpeg, { kind: 'image', imageHexKey: false, keyFormat });
      expect(wire.image_item?.aeskey).toBeUndefined();
      const result = await downloadMedia(ctx(), friendlyItem(wire));
      expect(result.data.equals(jpeg)).toBe(true);
      expect(result.fileName).toBe('image.jpg');
    }
  });

  it('image_item.aeskey wins over a wrong media.aes_key', async () => {
    const wire = await h.cdn.encryptAndStore(PNG, { kind: 'image' });
    wire.image_item!.media!.aes_key = Buffer.alloc(16, 9).toString('base64');
    expect((await downloadMedia(ctx(), friendlyItem(wire))).data.equals(PNG)).toBe(true);
  });

  it('an image without any key is downloaded as plain bytes', async () => {
    const param = h.cdn.storeObject(PNG);
    const item: Item = { type: 'image', wireType: 2, image: { media: { encryptQueryParam: param } } };
    const result = await downloadMedia(ctx(), item);
    expect(result.data.equals(PNG)).toBe(true);
  });

  it('unknown image bytes are named image.jpg', async () => {
    const wire = await h.cdn.encryptAndStore(Buffer.from('not an image'), { kind: 'image' });
    expect((await downloadMedia(ctx(), friendlyItem(wire))).fileName).toBe('image.jpg');
  });

  it('file: base64-of-hex key, name and MIME from file_name', async () => {
    const data = bytes(70_000, 4);
    const wire = await h.cdn.encryptAndStore(data, { kind: 'file', fileName: 'report.pdf' });
    expect(Buffer.from(wire.file_item!.media!.aes_key!, 'base64').toString()).toMatch(/^[0-9a-f]{32}$/);
    expect(wire.file_item?.len).toBe('70000');
    const result = await downloadMedia(ctx(), friendlyItem(wire));
    expect(result.data.equals(data)).toBe(true);
    expect(result).toMatchObject({ kind: 'file', fileName: 'report.pdf', mimeType: 'application/pdf', size: 70000 });
  });

  it('video → video.mp4, video/mp4', async () => {
    const data = bytes(33_333, 5);
    const wire = await h.cdn.encryptAndStore(data, { kind: 'video' });
    const result = await downloadMedia(ctx(), friendlyItem(wire));
    expect(result.data.equals(data)).toBe(true);
    expect(result).toMatchObject({ kind: 'video', fileName: 'video.mp4', mimeType: 'video/mp4' });
  });

  it('voice: SILK is decoded to a 24 kHz WAV', async () => {
    const silk = await makeSampleSilk();
    const wire = await h.cdn.encryptAndStore(silk, { kind: 'voice' });
    expect(wire.voice_item).toMatchObject({ encode_type: 6, sample_rate: 24000 });
    expect(wire.voice_item!.playtime).toBeGreaterThan(1400);
    const result = await downloadMedia(ctx(), friendlyItem(wire));
    expect(result).toMatchObject({ kind: 'voice', fileName: 'voice.wav', mimeType: 'audio/wav' });
    expect(result.data.subarray(0, 44)).toEqual(wavHeader(result.data.length - 44));
    expect(result.durationMs).toBeGreaterThan(1400);

    const raw = await downloadMedia(ctx(), friendlyItem(wire), { decodeVoice: false });
    expect(raw.data.equals(silk)).toBe(true);
    expect(raw.mimeType).toBe('audio/silk');
  });

  it('voice that is not SILK comes back as audio/silk with a note', async () => {
    const wire = await h.cdn.encryptAndStore(Buffer.from('garbage voice'), { kind: 'voice', playtimeMs: 1000 });
    const result = await downloadMedia(ctx(), friendlyItem(wire));
    expect(result.mimeType).toBe('audio/silk');
    expect(result.fileName).toBe('voice.silk');
    expect(result.note).toMatch(/could not be decoded/);
    expect(result.data.toString()).toBe('garbage voice');
  });

  it('uses media.fullUrl when present (on the CDN origin: download-origin.test.ts)', async () => {
    const wire = await h.cdn.encryptAndStore(bytes(100), { kind: 'file', fileName: 'a.bin' });
    const item = friendlyItem(wire);
    const param = item.file!.media!.encryptQueryParam!;
    item.file!.media = {
      ...item.file!.media,
      encryptQueryParam: 'wrong',
      fullUrl: `${h.cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(param)}`,
    };
    // The encrypt_query_param is wrong: only the full_url finds the object.
    expect((await downloadMedia(ctx(), item)).data.equals(bytes(100))).toBe(true);
  });
});

describe('downloadMedia: upload → download round trips through the CDN', () => {
  it.each([
    ['photo.png', PNG, 'image'],
    ['clip.mp4', bytes(100_001, 8), 'video'],
    ['data.csv', bytes(16, 9), 'file'],
  ])('%s round-trips byte for byte', async (fileName, data, kind) => {
    const uploaded = await uploadMedia({ transport: h.transport, cdnBaseUrl: h.cdnBaseUrl }, data, { fileName, toUserId: 'u' });
    const item = friendlyItem(buildMediaItem(uploaded));
    expect(item.type).toBe(kind);
    const result = await downloadMedia(ctx(), item);
    expect(result.data.equals(data)).toBe(true);
  });

  it('voice round-trips as a file upload (outbound VOICE is never sent) and back as SILK → WAV', async () => {
    const silk = await makeSampleSilk();
    const uploaded = await uploadMedia({ transport: h.transport, cdnBaseUrl: h.cdnBaseUrl }, silk, { fileName: 'note.silk', toUserId: 'u' });
    expect(uploaded.mediaType).toBe(3);
    const asVoice: Item = { type: 'voice', wireType: 3, voice: { media: uploaded.media } };
    const result = await downloadMedia(ctx(), asVoice, { decodeVoice: false });
    expect(result.data.equals(silk)).toBe(true);
  });
});

describe('downloadMedia: errors', () => {
  it('voice/file/video without a key → no_media; without a reference → no_media', async () => {
    for (const item of [
      { type: 'file', wireType: 4, file: { media: { encryptQueryParam: 'x' } } },
      { type: 'voice', wireType: 3, voice: { media: { encryptQueryParam: 'x' } } },
      { type: 'video', wireType: 5, video: {} },
      { type: 'image', wireType: 2, image: { aesKeyHex: '00'.repeat(16) } },
      { type: 'text', wireType: 1, text: 'hi' },
    ] as Item[]) {
      const error = await rejection(downloadMedia(ctx(), item));
      expect(error).toBeInstanceOf(MediaError);
      expect(error.kind).toBe('no_media');
    }
    expect(downloads()).toHaveLength(0);
  });

  it('a bad key is bad_key, a wrong key is bad_padding', async () => {
    const wire = await h.cdn.encryptAndStore(bytes(100), { kind: 'file' });
    const item = friendlyItem(wire);
    item.file!.media!.aesKey = Buffer.alloc(24).toString('base64');
    expect((await rejection(downloadMedia(ctx(), item))).kind).toBe('bad_key');
    // Encrypt with one key, announce another whose padding check fails.
    const param = h.cdn.storeObject(encryptAesEcb(Buffer.alloc(16, 1), bytes(100)));
    const kinds = new Set<string>();
    for (let i = 2; i < 6; i++) {
      const wrong: Item = { type: 'file', wireType: 4, file: { media: { encryptQueryParam: param, aesKey: Buffer.alloc(16, i).toString('base64') } } };
      kinds.add((await downloadMedia(ctx(), wrong).catch((e: MediaError) => e)) instanceof MediaError ? 'bad_padding' : 'ok');
    }
    expect(kinds.has('bad_padding')).toBe(true);
  });

  it('a wrong key whose padding happens to check out is flagged by the MD5 (file and video), not thrown', async () => {
    const data = bytes(5000, 7);
    const right = Buffer.alloc(16, 1);
    const ciphertext = encryptAesEcb(right, data);
    // About 1 key in 255 decrypts the last block to valid PKCS#7; find one.
    let lucky: Buffer | undefined;
    for (let i = 0; !lucky; i++) {
      const candidate = Buffer.alloc(16, 2);
      candidate.writeUInt32BE(i);
      try {
        decryptAesEcb(candidate, ciphertext);
        lucky = candidate;
      } catch {
        // padding check failed, as it usually does
      }
    }
    const param = h.cdn.storeObject(ciphertext);
    const media = { encryptQueryParam: param, aesKey: lucky.toString('base64') };
    const md5 = createHash('md5').update(data).digest('hex');
    const items: Item[] = [
      { type: 'file', wireType: 4, file: { fileName: 'a.bin', md5, media } },
      { type: 'video', wireType: 5, video: { videoMd5: md5.toUpperCase(), media } },
    ];
    for (const item of items) {
      const flagged = await downloadMedia(ctx(), item);
      expect(flagged.md5Matches).toBe(false);
      expect(flagged.note).toMatch(/does not match the item's MD5 .*key may be wrong or the file damaged/);
      expect(flagged.data.equals(data)).toBe(false);
    }
    // The right key passes the same check; an item without an MD5 cannot be checked.
    const good = await downloadMedia(ctx(), { type: 'file', wireType: 4, file: { md5, media: { ...media, aesKey: right.toString('base64') } } });
    expect(good.data.equals(data)).toBe(true);
    expect(good.md5Matches).toBe(true);
    expect(good.note).toBeUndefined();
    const unchecked = await downloadMedia(ctx(), { type: 'file', wireType: 4, file: { media } });
    expect(unchecked.data.equals(data)).toBe(false);
    expect(unchecked.md5Matches).toBeUndefined();
  });

  it('HTTP 404 → cdn_status with the status', async () => {
    const item: Item = { type: 'file', wireType: 4, file: { media: { encryptQueryParam: 'unknown', aesKey: Buffer.alloc(16).toString('base64') } } };
    const error = await rejection(downloadMedia(ctx(), item));
    expect(error.kind).toBe('cdn_status');
    expect(error.status).toBe(404);
    expect(error.message).toContain('HTTP 404');
  });

  it('injected 500 → cdn_status (downloads are not retried)', async () => {
    const wire = await h.cdn.encryptAndStore(bytes(10), { kind: 'file' });
    h.cdn.injectFault({ op: 'download', kind: 'status500' });
    const error = await rejection(downloadMedia(ctx(), friendlyItem(wire)));
    expect(error.status).toBe(500);
    expect(downloads()).toHaveLength(1);
  });

  it('a truncated body is an error, not short data', async () => {
    const wire = await h.cdn.encryptAndStore(bytes(200_000), { kind: 'file' });
    h.cdn.injectFault({ op: 'download', kind: 'truncatedBody' });
    const error = await rejection(downloadMedia(ctx(), friendlyItem(wire)));
    expect(error).toBeInstanceOf(MediaError);
    expect(error.kind).toBe('cdn_network');
  });

  it('a slow body still arrives intact', async () => {
    const data = bytes(5000);
    const wire = await h.cdn.encryptAndStore(data, { kind: 'file' });
    h.cdn.injectFault({ op: 'download', kind: 'slowBody', delayMs: 1 });
    expect((await downloadMedia(ctx(), friendlyItem(wire))).data.equals(data)).toBe(true);
  });

  it('over the cap by Content-Length: fails without reading the body', async () => {
    const wire = await h.cdn.encryptAndStore(bytes(2 * 1024 * 1024), { kind: 'file' });
    const error = await rejection(downloadMedia(ctx(1024 * 1024), friendlyItem(wire)));
    expect(error.kind).toBe('too_large');
    expect(error.message).toContain('limit is 1 MiB');
  });

  it('exactly at the cap (ciphertext one block longer) is allowed', async () => {
    const data = bytes(64 * 1024);
    const wire = await h.cdn.encryptAndStore(data, { kind: 'file' });
    expect((await downloadMedia(ctx(64 * 1024), friendlyItem(wire))).data.equals(data)).toBe(true);
  });

  describe('over the cap without Content-Length (chunked)', () => {
    let server: Server;
    let sent = 0;
    let closed: Promise<void>;
    beforeEach(async () => {
      sent = 0;
      let resolveClosed!: () => void;
      closed = new Promise((r) => (resolveClosed = r));
      // Streams 64 KiB chunks forever (until the client hangs up); counts what it managed to send.
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          while (!res.destroyed && sent < 64 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        res.on('close', resolveClosed);
        pump();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('aborts as soon as the cap is passed', async () => {
      const port = (server.address() as AddressInfo).port;
      const item: Item = { type: 'image', wireType: 2, image: { media: { encryptQueryParam: 'x' } } };
      const error = await rejection(downloadMedia({ cdnBaseUrl: `http://127.0.0.1:${port}/c2c`, maxBytes: 1024 * 1024 }, item));
      expect(error.kind).toBe('too_large');
      await closed;
      // Far less than the 64 MiB the server would have sent (socket buffers allow some slack).
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    });
  });

  describe('a CDN that stalls', () => {
    let server: Server;
    let base: string;
    beforeEach(async () => {
      // "stall-body": headers and half the announced body, then silence; anything else: never answered.
      server = createServer((req, res) => {
        if (req.url?.startsWith('/c2c/download') && req.url.includes('stall-body')) {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '32' });
          res.write(Buffer.alloc(16, 7));
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/c2c`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const plainImage = (param: string): Item => ({ type: 'image', wireType: 2, image: { media: { encryptQueryParam: param } } });

    it.each([
      ['in the body', 'stall-body', /^CDN download was cut short after 16 bytes: .*; try again$/],
      ['before the headers', 'stall-headers', /^CDN download failed: .*; check the network and try again$/],
    ])('%s fails after the idle timeout with a clear error, instead of holding the receiver', async (_name, param, message) => {
      const t0 = Date.now();
      const error = await rejection(downloadMedia({ cdnBaseUrl: base, idleTimeoutMs: 300 }, plainImage(param)));
      expect(error).toBeInstanceOf(MediaError);
      expect(error.kind).toBe('cdn_network');
      expect(error.message).toMatch(message);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(Date.now() - t0).toBeLessThan(5_000);
    });
  });
});
