import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import {
  CIPHER_CHUNK,
  createDecryptStream,
  createEncryptStream,
  decryptAesEcb,
  encryptAesEcb,
  MediaError,
  paddedSize,
} from '../../../shared/media';
import { bytes, rejection } from './helpers';

const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

async function runStream(transform: Transform, input: Buffer, pieceSizes: number[]): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let offset = 0;
  let i = 0;
  while (offset < input.length) {
    const size = Math.max(1, pieceSizes[i++ % pieceSizes.length] ?? 1);
    pieces.push(input.subarray(offset, offset + size));
    offset += size;
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), transform, async (source: AsyncIterable<string | Buffer>) => {
    for await (const chunk of source) out.push(Buffer.from(chunk));
  });
  return Buffer.concat(out);
}

describe('paddedSize (§7 known answers)', () => {
  it.each([
    [0, 16],
    [1, 16],
    [15, 16],
    [16, 32],
    [17, 32],
    [100, 112],
    [100 * 1024 * 1024, 100 * 1024 * 1024 + 16],
  ])('%i bytes → %i', (n, expected) => {
    expect(paddedSize(n)).toBe(expected);
    expect(encryptAesEcb(key, Buffer.alloc(n < 1000 ? n : 0)).length).toBe(paddedSize(n < 1000 ? n : 0));
  });
});

describe('whole-buffer AES-128-ECB', () => {
  it('matches OpenSSL with PKCS#7 padding', () => {
    const plain = bytes(1000);
    const reference = createCipheriv('aes-128-ecb', key, null);
    const expected = Buffer.concat([reference.update(plain), reference.final()]);
    expect(encryptAesEcb(key, plain).equals(expected)).toBe(true);
  });

  it('round-trips data larger than one cipher chunk', () => {
    const plain = bytes(200 * 1024 + 7);
    expect(decryptAesEcb(key, encryptAesEcb(key, plain)).equals(plain)).toBe(true);
  });

  it('a known vector: 16 zero bytes need a whole padding block', () => {
    const cipher = encryptAesEcb(key, Buffer.alloc(16));
    expect(cipher.length).toBe(32);
    expect(decryptAesEcb(key, cipher)).toEqual(Buffer.alloc(16));
  });

  it('wrong key → MediaError bad_padding saying "wrong key or damaged file"', () => {
    const cipher = encryptAesEcb(key, Buffer.from('hello, wechat'));
    let caught: unknown;
    // A wrong key yields valid-looking padding with probability ~1/256; try several keys.
    for (let i = 1; i <= 4 && !caught; i++) {
      try {
        decryptAesEcb(Buffer.alloc(16, i), cipher);
      } catch (error) {
        caught = error;
      }
    }
    expect(caught).toBeInstanceOf(MediaError);
    expect((caught as MediaError).kind).toBe('bad_padding');
    expect((caught as MediaError).message).toMatch(/wrong key or damaged file/);
  });

  it('damaged padding byte → bad_padding', () => {
    // Encrypt a block whose last byte is 0 without padding: invalid PKCS#7.
    const raw = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    const block = Buffer.concat([raw.update(Buffer.alloc(16)), raw.final()]);
    expect(() => decryptAesEcb(key, block)).toThrow(/wrong key or damaged file/);
    // Last byte 3 but the two before it are not 3.
    const bad = Buffer.alloc(16, 9);
    bad[15] = 3;
    const raw2 = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    expect(() => decryptAesEcb(key, Buffer.concat([raw2.update(bad), raw2.final()]))).toThrow(MediaError);
  });

  it('ragged or empty ciphertext → bad_padding', () => {
    expect(() => decryptAesEcb(key, Buffer.alloc(0))).toThrow(/wrong key or damaged file/);
    expect(() => decryptAesEcb(key, Buffer.alloc(17))).toThrow(/multiple of 16/);
  });

  it('rejects a key that is not 16 bytes', () => {
    expect(() => encryptAesEcb(Buffer.alloc(32), Buffer.alloc(1))).toThrow(expect.objectContaining({ kind: 'bad_key' }));
  });
});

describe('streaming AES-128-ECB', () => {
  const sizeArb = fc.oneof(
    fc.integer({ min: 0, max: 80 }),
    fc.constantFrom(0, 15, 16, 17, 31, 32, 33, 65535, 65536, 65537, 131072 - 1, 131072 + 16),
  );
  const piecesArb = fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 5 });

  it('encrypt stream equals whole-buffer encryption, for any size and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(sizeArb, piecesArb, fc.integer({ min: 1, max: 1000 }), async (size, pieces, seed) => {
        const plain = bytes(size, seed);
        const streamed = await runStream(createEncryptStream(key), plain, pieces);
        expect(streamed.equals(encryptAesEcb(key, plain))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('decrypt stream inverts encryption, for any size and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(sizeArb, piecesArb, fc.integer({ min: 1, max: 1000 }), async (size, pieces, seed) => {
        const plain = bytes(size, seed);
        const streamed = await runStream(createDecryptStream(key), encryptAesEcb(key, plain), pieces);
        expect(streamed.equals(plain)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('decrypt stream with the wrong key fails with a clear MediaError', async () => {
    const cipher = encryptAesEcb(key, bytes(5000));
    const errors = await Promise.all(
      [1, 2, 3, 4].map((i) => rejection(runStream(createDecryptStream(Buffer.alloc(16, i)), cipher, [1000])).catch((e) => e)),
    );
    const failures = errors.filter((e) => e instanceof MediaError);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0].message).toMatch(/wrong key or damaged file/);
  });

  it('decrypt stream of a truncated ciphertext fails', async () => {
    const cipher = encryptAesEcb(key, bytes(100));
    const error = await rejection(runStream(createDecryptStream(key), cipher.subarray(0, 100), [33]));
    expect(error).toBeInstanceOf(MediaError);
    expect(error.kind).toBe('bad_padding');
  });
});

describe('upload sources produce the same ciphertext as whole-buffer encryption', () => {
  it('Buffer source, any size (short slices must not stall the stream)', async () => {
    const { prepareSource } = await import('../../../shared/media/source');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(65535, 65536, 65537, 65536 * 2 + 3)), async (size) => {
        const plain = bytes(size, size + 1);
        const prepared = await prepareSource(plain, 1 << 20);
        const out: Buffer[] = [];
        for await (const chunk of prepared.openCiphertext(key)) out.push(chunk as Buffer);
        expect(Buffer.concat(out).equals(encryptAesEcb(key, plain))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('file source, sizes around the read chunk: same ciphertext, size and MD5 as the Buffer', async () => {
    const { prepareSource } = await import('../../../shared/media/source');
    const dir = await mkdtemp(join(tmpdir(), 'ilink-crypto-test-'));
    try {
      const READ = 1 << 20; // source.ts reads files 1 MiB at a time
      for (const size of [0, 1, 15, 16, CIPHER_CHUNK - 1, CIPHER_CHUNK + 1, READ - 1, READ, READ + 1, 2 * READ, 2 * READ + CIPHER_CHUNK + 17]) {
        const plain = bytes(size, size + 3);
        const path = join(dir, `f${size}.bin`);
        await writeFile(path, plain);
        const prepared = await prepareSource(path, 1 << 30);
        expect(prepared.plainSize).toBe(size);
        expect(prepared.md5).toBe(createHash('md5').update(plain).digest('hex'));
        // Twice: every upload attempt opens a fresh stream.
        for (let attempt = 0; attempt < 2; attempt++) {
          const out: Buffer[] = [];
          for await (const chunk of prepared.openCiphertext(key)) out.push(chunk as Buffer);
          expect(Buffer.concat(out).equals(encryptAesEcb(key, plain))).toBe(true);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
