/**
 * Turns an upload source (Buffer, file path or stream) into what the upload
 * needs: size and MD5 up front (getuploadurl wants rawsize/rawfilemd5/filesize
 * before any byte goes to the CDN, §7 steps 1 and 4), then a fresh ciphertext
 * stream for each attempt (§7 step 6 retries up to 3 times).
 *
 * Memory: a 100 MiB file must never sit in memory as plaintext and ciphertext
 * at once. A path is read twice (hash pass, then encrypt-while-sending); a
 * stream is spooled to a temporary file first (bounded by the cap) so that it
 * can be read twice; a Buffer is encrypted slice by slice as the request body
 * is pulled.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../errors';
import { CIPHER_CHUNK, createEncryptStream, EcbEncryptor } from './crypto';
import { tooLargeError } from './errors';

export type UploadSource = Buffer | string | NodeJS.ReadableStream;

export interface PreparedSource {
  plainSize: number;
  /** Lowercase hex MD5 of the plaintext. */
  md5: string;
  /** A new ciphertext stream; call once per attempt. */
  openCiphertext(key: Buffer): Readable;
  /** Removes any temporary file. */
  cleanup(): Promise<void>;
}

export async function prepareSource(source: UploadSource, maxBytes: number, signal?: AbortSignal): Promise<PreparedSource> {
  if (Buffer.isBuffer(source)) return prepareBuffer(source, maxBytes);
  if (typeof source === 'string') return prepareFile(source, maxBytes, signal);
  if (source && typeof (source as NodeJS.ReadableStream).pipe === 'function') return prepareStream(source, maxBytes, signal);
  throw new ValidationError('media source must be a Buffer, a file path or a readable stream');
}

function prepareBuffer(data: Buffer, maxBytes: number): PreparedSource {
  if (data.length > maxBytes) throw tooLargeError('the file', data.length, maxBytes);
  const hash = createHash('md5');
  for (let offset = 0; offset < data.length; offset += CIPHER_CHUNK) hash.update(data.subarray(offset, offset + CIPHER_CHUNK));
  return {
    plainSize: data.length,
    md5: hash.digest('hex'),
    openCiphertext: (key) => encryptBufferLazily(data, key),
    cleanup: async () => {},
  };
}

/** Encrypts one CIPHER_CHUNK per read(), so the ciphertext is never all in memory. */
function encryptBufferLazily(data: Buffer, key: Buffer): Readable {
  const encryptor = new EcbEncryptor(key);
  let offset = 0;
  return new Readable({
    read() {
      // Keep going until something is pushed: a slice shorter than a block yields no output,
      // and read() is not called again until we push.
      let pushed = false;
      while (!pushed) {
        if (offset >= data.length) {
          this.push(encryptor.final());
          this.push(null);
          return;
        }
        const slice = data.subarray(offset, offset + CIPHER_CHUNK);
        offset += slice.length;
        encryptor.update(slice, (piece) => {
          pushed = true;
          this.push(piece);
        });
      }
    },
  });
}

/** Counts bytes and fails with too_large as soon as the cap is passed. */
function byteLimit(maxBytes: number, what: string, onCount?: (n: number) => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      onCount?.(seen);
      if (seen > maxBytes) callback(tooLargeError(what, undefined, maxBytes));
      else callback(null, chunk);
    },
  });
}

async function prepareFile(path: string, maxBytes: number, signal?: AbortSignal): Promise<PreparedSource> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ValidationError(`cannot read the file ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!info.isFile()) throw new ValidationError(`${path} is not a regular file`);
  // Checked before reading a byte, so an oversized file costs nothing.
  if (info.size > maxBytes) throw tooLargeError(`the file ${path}`, info.size, maxBytes);

  // Pass 1: hash. The size is counted here too, in case the file changed since stat().
  const hash = createHash('md5');
  let size = 0;
  await pipeline(
    createReadStream(path, { highWaterMark: CIPHER_CHUNK }),
    byteLimit(maxBytes, `the file ${path}`, (n) => (size = n)),
    async function (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) hash.update(chunk);
    },
    { signal },
  );
  return {
    plainSize: size,
    md5: hash.digest('hex'),
    // Pass 2 (per attempt): read and encrypt while the request body is pulled.
    openCiphertext: (key) => {
      const encrypt = createEncryptStream(key);
      pipeline(createReadStream(path, { highWaterMark: CIPHER_CHUNK }), encrypt).catch(() => {
        // pipeline destroys `encrypt` with the error, which fails the request; nothing else to do.
      });
      return encrypt;
    },
    cleanup: async () => {},
  };
}

async function prepareStream(source: NodeJS.ReadableStream, maxBytes: number, signal?: AbortSignal): Promise<PreparedSource> {
  const dir = await mkdtemp(join(tmpdir(), 'ilink-media-'));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  try {
    const spool = join(dir, 'upload.bin');
    await pipeline(source, byteLimit(maxBytes, 'the media stream'), createWriteStream(spool), { signal });
    const prepared = await prepareFile(spool, maxBytes, signal);
    return { ...prepared, cleanup: removeDir };
  } catch (error) {
    await removeDir();
    throw error;
  }
}
