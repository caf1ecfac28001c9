import {
  buildMediaItem,
  encodeOutboundAesKey,
  encodeRawAesKey,
  extensionForMime,
  keyForItem,
  MediaError,
  mediaTypeForFile,
  mimeFromFileName,
  parseAesKey,
  parseHexKey,
  pickMediaItem,
  sniffImage,
  type UploadedMedia,
} from '../../../shared/media';
import type { Item } from '../../../shared/model';

const raw = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe('AES key formats (§7)', () => {
  it('base64 of 16 raw bytes decodes to the key', () => {
    expect(parseAesKey(raw.toString('base64'))).toEqual(raw);
  });

  it('base64 of the 32-char hex string decodes to the same key (upper or lower case hex)', () => {
    expect(parseAesKey(Buffer.from(raw.toString('hex')).toString('base64'))).toEqual(raw);
    expect(parseAesKey(Buffer.from(raw.toString('hex').toUpperCase()).toString('base64'))).toEqual(raw);
  });

  it('outbound encoding is base64 of lowercase hex: 44 chars ending in "="', () => {
    const encoded = encodeOutboundAesKey(raw);
    expect(encoded).toBe('MDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmY=');
    expect(encoded).toHaveLength(44);
    expect(parseAesKey(encoded)).toEqual(raw);
    expect(encodeRawAesKey(raw)).toBe(raw.toString('base64'));
  });

  it.each([
    ['empty', ''],
    ['8 bytes', Buffer.alloc(8).toString('base64')],
    ['32 non-hex bytes (would be AES-256 in the Go seed)', Buffer.alloc(32, 0x7a).toString('base64')],
    ['24 bytes', Buffer.alloc(24, 1).toString('base64')],
  ])('rejects %s with bad_key', (_name, value) => {
    expect(() => parseAesKey(value)).toThrow(MediaError);
    expect(() => parseAesKey(value)).toThrow(expect.objectContaining({ kind: 'bad_key' }));
  });

  it('parseHexKey takes 32 hex characters only', () => {
    expect(parseHexKey(raw.toString('hex'))).toEqual(raw);
    expect(() => parseHexKey('abc')).toThrow(expect.objectContaining({ kind: 'bad_key' }));
    expect(() => parseHexKey('zz'.repeat(16))).toThrow(MediaError);
  });

  it('an image prefers image.aesKeyHex over media.aesKey', () => {
    const other = Buffer.alloc(16, 5);
    const item: Item = { type: 'image', wireType: 2, image: { aesKeyHex: raw.toString('hex'), media: { aesKey: other.toString('base64') } } };
    expect(keyForItem(item)).toEqual(raw);
    expect(keyForItem({ ...item, image: { media: { aesKey: other.toString('base64') } } })).toEqual(other);
    expect(keyForItem({ type: 'image', wireType: 2, image: { media: { encryptQueryParam: 'x' } } })).toBeUndefined();
  });

  it('a file uses media.aesKey', () => {
    expect(keyForItem({ type: 'file', wireType: 4, file: { media: { aesKey: encodeOutboundAesKey(raw) } } })).toEqual(raw);
  });
});

describe('MIME and media type (§7 step 3)', () => {
  it.each([
    ['photo.JPG', 'image/jpeg', 1],
    ['a.png', 'image/png', 1],
    ['clip.mp4', 'video/mp4', 2],
    ['clip.mov', 'video/quicktime', 2],
    ['report.pdf', 'application/pdf', 3],
    ['song.mp3', 'audio/mpeg', 3],
    ['noext', 'application/octet-stream', 3],
    ['dir.with.dots/README', 'application/octet-stream', 3],
  ])('%s → %s, media_type %i', (name, mime, type) => {
    expect(mimeFromFileName(name)).toBe(mime);
    expect(mediaTypeForFile(name)).toBe(type);
  });

  it('extension for a MIME type', () => {
    expect(extensionForMime('image/jpeg')).toBe('jpg');
    expect(extensionForMime('video/mp4; codecs=avc1')).toBe('mp4');
    expect(extensionForMime('application/x-unknown')).toBe('bin');
  });

  it('sniffs images from magic bytes', () => {
    expect(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))?.extension).toBe('jpg');
    expect(sniffImage(Buffer.from('89504e470d0a1a0a0000', 'hex'))?.extension).toBe('png');
    expect(sniffImage(Buffer.from('GIF89a....'))?.extension).toBe('gif');
    expect(sniffImage(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))?.extension).toBe('webp');
    expect(sniffImage(Buffer.from('plain text'))).toBeUndefined();
  });
});

describe('outbound items (§7 step 8)', () => {
  const uploaded = (mediaType: 1 | 2 | 3): UploadedMedia => ({
    media: { encryptQueryParam: 'dl+param/==', aesKey: encodeOutboundAesKey(raw), encryptType: 1, fullUrl: 'http://ignored' },
    mediaType,
    fileName: '/tmp/some dir/report.pdf',
    plainSize: 100,
    cipherSize: 112,
    md5: 'd41d8cd98f00b204e9800998ecf8427e',
    aesKeyHex: raw.toString('hex'),
    filekey: 'ab'.repeat(16),
  });
  const media = { encrypt_query_param: 'dl+param/==', aes_key: encodeOutboundAesKey(raw), encrypt_type: 1 };

  it('image: media + mid_size = ciphertext size, nothing else', () => {
    expect(buildMediaItem(uploaded(1))).toEqual({ type: 2, image_item: { media, mid_size: 112 } });
  });
  it('video: media + video_size = ciphertext size', () => {
    expect(buildMediaItem(uploaded(2))).toEqual({ type: 5, video_item: { media, video_size: 112 } });
  });
  it('file: media + base name + len = plaintext size as a string, no md5', () => {
    expect(buildMediaItem(uploaded(3))).toEqual({ type: 4, file_item: { media, file_name: 'report.pdf', len: '100' } });
  });
});

describe('pickMediaItem (§7 which item is downloaded)', () => {
  const image: Item = { type: 'image', wireType: 2, image: {} };
  const video: Item = { type: 'video', wireType: 5, video: {} };
  const file: Item = { type: 'file', wireType: 4, file: {} };
  const voice: Item = { type: 'voice', wireType: 3, voice: {} };
  const transcribed: Item = { type: 'voice', wireType: 3, voice: { transcript: 'hello' } };
  const text: Item = { type: 'text', wireType: 1, text: 'hi' };

  it('IMAGE > VIDEO > FILE > VOICE regardless of order', () => {
    expect(pickMediaItem([voice, file, video, image, text])).toBe(image);
    expect(pickMediaItem([voice, file, video])).toBe(video);
    expect(pickMediaItem([voice, text, file])).toBe(file);
    expect(pickMediaItem([text, voice])).toBe(voice);
  });
  it('a voice with a transcript is skipped', () => {
    expect(pickMediaItem([transcribed, text])).toBeUndefined();
  });
  it('falls back to the media quoted by a TEXT item', () => {
    const quoting: Item = { ...text, quote: { item: file, title: 'report' } };
    expect(pickMediaItem([quoting])).toBe(file);
    expect(pickMediaItem([{ ...text, quote: { item: text } }])).toBeUndefined();
    expect(pickMediaItem([video, quoting])).toBe(video);
  });
  it('nothing to pick', () => {
    expect(pickMediaItem([])).toBeUndefined();
    expect(pickMediaItem([text])).toBeUndefined();
  });
});
