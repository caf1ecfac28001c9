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
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../errors';
import { abortError } from '../transport';
import { CIPHER_CHUNK, EcbEncryptor } from './crypto';
import { MediaError, tooLargeError } from './errors';

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
function byteLimit(maxBytes: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
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

  // Pass 1: hash. The size is counted here too, in case the file changed since stat();
  // reading one byte past the cap is enough to know it is too large.
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of fileChunks(path, maxBytes + 1, signal)) {
    size += chunk.length;
    if (size > maxBytes) throw tooLargeError(`the file ${path}`, undefined, maxBytes);
    hash.update(chunk);
  }
  return {
    plainSize: size,
    md5: hash.digest('hex'),
    // Pass 2 (per attempt): read and encrypt as the request body is pulled.
    openCiphertext: (key) => Readable.from(encryptFile(path, size, key), { objectMode: false }),
    cleanup: async () => {},
  };
}

/**
 * Bytes per file read. Each read is a round trip to libuv's thread pool (wake a
 * worker, copy, wake the event loop), slower than encrypting 256 KiB on the
 * benchmark VM; 1 MiB reads keep the encryptor from waiting on them.
 */
const FILE_READ_CHUNK = 1024 * 1024;

/**
 * Yields the file's bytes in FILE_READ_CHUNK pieces, up to `limit` bytes or the end of the file.
 *
 * Why not createReadStream: it allocates a fresh buffer for every read, and
 * fresh memory is what costs most here: each new page is a page fault, which
 * on the benchmark VM takes as long as encrypting dozens of pages. Two buffers
 * are reused instead: while the caller works on one, the next read fills the
 * other in libuv's thread pool. A yielded chunk is only valid until the next
 * one is requested, so callers must consume it synchronously (hash or encrypt it).
 */
async function* fileChunks(path: string, limit: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  let pending: Promise<number> | undefined;
  try {
    const buffers = [Buffer.allocUnsafe(FILE_READ_CHUNK), Buffer.allocUnsafe(FILE_READ_CHUNK)];
    let position = 0;
    let turn = 0;
    pending = readAt(handle, buffers[turn]!, position, limit);
    for (;;) {
      const bytesRead = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      if (signal?.aborted) throw abortError(signal);
      const chunk = buffers[turn]!.subarray(0, bytesRead);
      position += bytesRead;
      turn ^= 1;
      if (position < limit) pending = readAt(handle, buffers[turn]!, position, limit);
      yield chunk;
      if (!pending) return;
    }
  } finally {
    // A read still in flight when the consumer stops must not become an unhandled rejection.
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

function readAt(handle: FileHandle, buffer: Buffer, position: number, limit: number): Promise<number> {
  const length = Math.min(buffer.length, limit - position);
  const read = handle.read(buffer, 0, length, position).then((result) => result.bytesRead);
  read.catch(() => undefined); // handled by whoever awaits it; this only marks it as handled
  return read;
}

/** The ciphertext of the file's first `size` bytes: one cipher call and one output Buffer per CIPHER_CHUNK. */
async function* encryptFile(path: string, size: number, key: Buffer): AsyncGenerator<Buffer> {
  const encryptor = new EcbEncryptor(key);
  let sent = 0;
  for await (const chunk of fileChunks(path, size)) {
    sent += chunk.length;
    const pieces: Buffer[] = [];
    encryptor.update(chunk, (piece) => pieces.push(piece));
    yield* pieces;
  }
  // Content-Length and rawsize/rawfilemd5 were announced from pass 1; a shorter file cannot match them.
  if (sent !== size) {
    throw new MediaError('source_changed', `the file ${path} changed during the upload: it now has ${sent} bytes, ${size} were announced; send it again`);
  }
  yield encryptor.final();
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
