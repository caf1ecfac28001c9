/**
 * AES-128-ECB with PKCS#7 padding, the only cipher the iLink CDN uses (§7 Crypto).
 *
 * Why the chunking: every cipher.update() returns a new Buffer, and Node
 * fills it by allocating input+16 bytes, encrypting into that and copying the
 * result into a second, exact-size allocation (ECB never fills the spare 16).
 * On a multi-MiB input both are fresh memory: a 100 MiB update() takes 51,200
 * page faults, which on the benchmark VM cost ~100× the AES itself. So every
 * path here feeds the cipher CIPHER_CHUNK slices, whatever size the caller
 * hands us: the scratch allocation, freed at once, is reused by the next call.
 * Why the manual padding check: §7 says decryption must check
 * the padding, and OpenSSL's own check reports an opaque "bad decrypt"; we
 * verify PKCS#7 ourselves and say "wrong key or damaged file".
 */
import { createCipheriv, createDecipheriv, type Cipheriv, type Decipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { MediaError } from './errors';

export const AES_BLOCK = 16;
export const AES_KEY_BYTES = 16;
/**
 * Slice size fed to the native cipher. A bare update() loop peaks at 128–256 KiB
 * slices (fewer calls than 64 KiB, still cache-sized); see bench/media.ts.
 */
export const CIPHER_CHUNK = 256 * 1024;

/** Ciphertext size for n plaintext bytes: PKCS#7 always adds 1–16 bytes (§7). */
export function paddedSize(n: number): number {
  return Math.ceil((n + 1) / AES_BLOCK) * AES_BLOCK;
}

function checkKey(key: Buffer): void {
  if (key.length !== AES_KEY_BYTES) {
    throw new MediaError('bad_key', `AES-128 key must be 16 bytes, got ${key.length}`);
  }
}

/** The one error for "this key does not decrypt this data", whichever check noticed it. */
export function wrongKeyOrDamaged(detail: string, cause?: unknown): MediaError {
  return new MediaError('bad_padding', `cannot decrypt the media: wrong key or damaged file (${detail})`, { cause });
}

/** Calls fn for each ≤CIPHER_CHUNK slice of buf (no copies). */
function forEachSlice(buf: Buffer, fn: (slice: Buffer) => void): void {
  for (let offset = 0; offset < buf.length; offset += CIPHER_CHUNK) {
    fn(buf.subarray(offset, Math.min(offset + CIPHER_CHUNK, buf.length)));
  }
}

/** Incremental encryptor: update() returns ciphertext for whole blocks, final() the padded last block. */
export class EcbEncryptor {
  private readonly cipher: Cipheriv;
  constructor(key: Buffer) {
    checkKey(key);
    this.cipher = createCipheriv('aes-128-ecb', key, null);
  }
  update(chunk: Buffer, out: (piece: Buffer) => void): void {
    forEachSlice(chunk, (slice) => {
      const piece = this.cipher.update(slice);
      if (piece.length > 0) out(piece);
    });
  }
  final(): Buffer {
    return this.cipher.final();
  }
}

/**
 * Incremental decryptor. Native padding is off; the last decrypted block is
 * held back until final() so that its PKCS#7 padding can be checked and removed.
 */
export class EcbDecryptor {
  private readonly decipher: Decipheriv;
  private held: Buffer | undefined;
  constructor(key: Buffer) {
    checkKey(key);
    this.decipher = createDecipheriv('aes-128-ecb', key, null);
    this.decipher.setAutoPadding(false);
  }
  update(chunk: Buffer, out: (piece: Buffer) => void): void {
    forEachSlice(chunk, (slice) => {
      const piece = this.decipher.update(slice);
      if (piece.length === 0) return;
      if (this.held) out(this.held);
      this.held = piece.subarray(piece.length - AES_BLOCK);
      if (piece.length > AES_BLOCK) out(piece.subarray(0, piece.length - AES_BLOCK));
    });
  }
  /** The plaintext of the last block without its padding; throws MediaError bad_padding. */
  final(): Buffer {
    try {
      // With padding off this only fails when the input was not a whole number of blocks.
      this.decipher.final();
    } catch (error) {
      throw wrongKeyOrDamaged('the encrypted size is not a multiple of 16 bytes', error);
    }
    const last = this.held;
    if (!last) throw wrongKeyOrDamaged('no encrypted data');
    return stripPadding(last);
  }
}

/** Verifies PKCS#7 on the final block and returns the plaintext part. */
function stripPadding(lastBlock: Buffer): Buffer {
  const pad = lastBlock[AES_BLOCK - 1] ?? 0;
  if (pad < 1 || pad > AES_BLOCK) throw wrongKeyOrDamaged('invalid padding');
  for (let i = AES_BLOCK - pad; i < AES_BLOCK; i++) {
    if (lastBlock[i] !== pad) throw wrongKeyOrDamaged('invalid padding');
  }
  return lastBlock.subarray(0, AES_BLOCK - pad);
}

/** Encrypts a whole buffer into one preallocated output (chunked internally). */
export function encryptAesEcb(key: Buffer, plaintext: Buffer): Buffer {
  const encryptor = new EcbEncryptor(key);
  const output = Buffer.allocUnsafe(paddedSize(plaintext.length));
  let offset = 0;
  const write = (piece: Buffer) => {
    piece.copy(output, offset);
    offset += piece.length;
  };
  encryptor.update(plaintext, write);
  write(encryptor.final());
  return output;
}

/** Decrypts a whole buffer; throws MediaError bad_padding for a wrong key or damaged data. */
export function decryptAesEcb(key: Buffer, ciphertext: Buffer): Buffer {
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK !== 0) {
    // Checked up front too: a ragged size can never be valid and the message is clearer.
    throw wrongKeyOrDamaged(`encrypted size ${ciphertext.length} is not a positive multiple of 16`);
  }
  const decryptor = new EcbDecryptor(key);
  const output = Buffer.allocUnsafe(ciphertext.length);
  let offset = 0;
  const write = (piece: Buffer) => {
    piece.copy(output, offset);
    offset += piece.length;
  };
  decryptor.update(ciphertext, write);
  write(decryptor.final());
  return output.subarray(0, offset);
}

/** A Transform that encrypts whatever passes through it. */
export function createEncryptStream(key: Buffer): Transform {
  const encryptor = new EcbEncryptor(key);
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        encryptor.update(chunk, (piece) => this.push(piece));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        callback(null, encryptor.final());
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** A Transform that decrypts and checks the padding at the end (errors with MediaError bad_padding). */
export function createDecryptStream(key: Buffer): Transform {
  const decryptor = new EcbDecryptor(key);
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        decryptor.update(chunk, (piece) => this.push(piece));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        const last = decryptor.final();
        callback(null, last.length > 0 ? last : undefined);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
