/**
 * The simulator's CDN (§7): `POST /c2c/upload` and `GET /c2c/download`,
 * storing ciphertext in memory. It behaves like the real one as far as the
 * official client can tell: an upload needs a param issued by getuploadurl,
 * success is HTTP 200 with `x-encrypted-param` (the *download* param, which
 * differs from the upload param: §8 row 25), errors carry `x-error-message`.
 * In strict mode it also decrypts each upload with the announced key and
 * checks rawsize and MD5, so a client that mis-encodes the key (§8 row 20) or
 * the sizes (§8 row 27) is caught.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getDuration } from 'silk-wasm';
import { decryptAesEcb, encryptAesEcb, paddedSize } from '../shared/media/crypto';
import { encodeOutboundAesKey, encodeRawAesKey, generateAesKey, parseAesKey } from '../shared/media/keys';
import { MessageItemType, VoiceEncodeType, type GetUploadUrlRequest, type MessageItem } from '../shared/wire';

/**
 * Download faults: truncatedBody announces the full length and cuts the connection halfway; slowBody
 * sends 1 KiB pieces delayMs apart; oversizedBody announces OVERSIZED_BODY_BYTES, sends the object's
 * first KiB and holds the rest (a client must refuse from the header, not read on).
 */
export type CdnFaultKind = 'status500' | 'noEncryptedParam' | 'status4xx' | 'truncatedBody' | 'slowBody' | 'oversizedBody';

export interface CdnFault {
  op: 'upload' | 'download';
  kind: CdnFaultKind;
  /** How many requests the fault applies to (default 1). */
  count?: number;
  /** HTTP status for status4xx (default 400). */
  status?: number;
  /** x-error-message for status4xx. */
  message?: string;
  /** Delay between body chunks for slowBody. */
  delayMs?: number;
}

export interface StoredObject {
  encryptQueryParam: string;
  ciphertext: Buffer;
  /** Set for uploads made through getuploadurl. */
  upload?: { filekey: string; aeskeyHex: string; rawsize: number; rawfilemd5: string; mediaType: number; toUserId: string };
}

/** One request the CDN saw, for tests and the simulator's inspector. */
export interface CdnRequestRecord {
  op: 'upload' | 'download' | 'other';
  method: string;
  status: number;
  bytes: number;
  /** Request headers, to check that no auth headers reach the CDN (§2). */
  headers: IncomingMessage['headers'];
  error?: string;
}

export type SimMediaKind = 'image' | 'file' | 'video' | 'voice';

export interface EncryptAndStoreOptions {
  kind: SimMediaKind;
  /** file_name for a file (default "file.bin"). */
  fileName?: string;
  /**
   * Encoding of media.aes_key: 'raw' = base64 of the 16 bytes (the usual form
   * for images), 'hex' = base64 of the 32-char hex string (the usual form for
   * file, voice and video). Default: raw for images, hex otherwise (§7).
   */
  keyFormat?: 'raw' | 'hex';
  /** Images only: also send image_item.aeskey as hex (default true). */
  imageHexKey?: boolean;
  /** Voice only: playtime in ms (default: measured from the SILK frames). */
  playtimeMs?: number;
}

interface PendingUpload {
  request: GetUploadUrlRequest;
  /** Set once an upload with this param succeeded; repeats answer the same download param. */
  downloadParam?: string;
}

const SLOW_CHUNK = 1024;
const DEFAULT_SLOW_DELAY_MS = 20;
/** The Content-Length of an oversizedBody fault: over the clients' default 100 MiB cap. */
export const OVERSIZED_BODY_BYTES = 150 * 1024 * 1024;

/** Standard base64 of random bytes: like the real params, it needs URL-encoding (+, /, =). */
function opaqueParam(): string {
  return randomBytes(32).toString('base64');
}

export class SimCdn {
  private readonly pending = new Map<string, PendingUpload>();
  private readonly objects = new Map<string, StoredObject>();
  private faults: Array<CdnFault & { remaining: number }> = [];
  /** Every request, oldest first. */
  readonly requests: CdnRequestRecord[] = [];

  constructor(readonly options: { strict: boolean; maxBytes?: number }) {}

  /** Called by the API's getuploadurl after it validated the body: remembers the allowed upload. */
  authorizeUpload(request: GetUploadUrlRequest): { upload_param: string } {
    const uploadParam = opaqueParam();
    this.pending.set(uploadParam, { request: { ...request } });
    return { upload_param: uploadParam };
  }

  /** Stores ciphertext the simulator itself made (media a simulated user sends); returns its encrypt_query_param. */
  storeObject(ciphertext: Buffer): string {
    const encryptQueryParam = opaqueParam();
    this.objects.set(encryptQueryParam, { encryptQueryParam, ciphertext });
    return encryptQueryParam;
  }

  readObject(encryptQueryParam: string): StoredObject | undefined {
    return this.objects.get(encryptQueryParam);
  }

  /** Decrypts a stored object with a wire aes_key (either encoding); undefined when unknown. Throws on a wrong key. */
  decryptStored(encryptQueryParam: string, aesKeyBase64: string): Buffer | undefined {
    const object = this.objects.get(encryptQueryParam);
    if (!object) return undefined;
    return decryptAesEcb(parseAesKey(aesKeyBase64), object.ciphertext);
  }

  /**
   * Encrypts media a simulated user sends and returns the wire item the real
   * server would deliver (§4, §7): encrypt_type 1, the key in the usual
   * encoding for the kind, sizes, file md5/len, voice as SILK at 24 kHz.
   */
  async encryptAndStore(plaintext: Buffer, options: EncryptAndStoreOptions): Promise<MessageItem> {
    const key = generateAesKey();
    const ciphertext = encryptAesEcb(key, plaintext);
    const param = this.storeObject(ciphertext);
    const keyFormat = options.keyFormat ?? (options.kind === 'image' ? 'raw' : 'hex');
    const media = {
      encrypt_query_param: param,
      aes_key: keyFormat === 'raw' ? encodeRawAesKey(key) : encodeOutboundAesKey(key),
      encrypt_type: 1,
    };
    const md5 = createHash('md5').update(plaintext).digest('hex');
    switch (options.kind) {
      case 'image':
        return {
          type: MessageItemType.IMAGE,
          image_item: {
            media,
            ...(options.imageHexKey === false ? {} : { aeskey: key.toString('hex') }),
            mid_size: ciphertext.length,
          },
        };
      case 'video':
        return { type: MessageItemType.VIDEO, video_item: { media, video_size: ciphertext.length, video_md5: md5 } };
      case 'file':
        return {
          type: MessageItemType.FILE,
          file_item: { media, file_name: options.fileName ?? 'file.bin', md5, len: String(plaintext.length) },
        };
      case 'voice': {
        const playtime = options.playtimeMs ?? silkDurationMs(plaintext);
        return {
          type: MessageItemType.VOICE,
          voice_item: { media, encode_type: VoiceEncodeType.SILK, bits_per_sample: 16, sample_rate: 24000, playtime },
        };
      }
    }
  }

  injectFault(fault: CdnFault): void {
    this.faults.push({ ...fault, remaining: fault.count ?? 1 });
  }

  /** Handles a request whose path, after the simulator's base path, starts with /c2c/. */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<void> {
    const route = pathname.replace(/\/+$/, '');
    try {
      if (route === '/c2c/upload') return await this.handleUpload(req, res, query);
      if (route === '/c2c/download') return await this.handleDownload(req, res, query);
      await drain(req);
      this.answer(req, res, 'other', 404, 0, 'no such CDN endpoint');
    } catch (error) {
      if (!res.headersSent) this.answer(req, res, 'other', 500, 0, (error as Error).message);
      else res.destroy();
    }
  }

  reset(): void {
    this.pending.clear();
    this.objects.clear();
    this.faults = [];
    this.requests.length = 0;
  }

  // ---- upload ----

  private async handleUpload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    if (req.method !== 'POST') {
      await drain(req);
      res.setHeader('Allow', 'POST');
      return this.answer(req, res, 'upload', 405, 0, 'upload needs POST');
    }
    const uploadParam = query.get('encrypted_query_param') ?? '';
    const filekey = query.get('filekey') ?? '';
    const pending = this.pending.get(uploadParam);
    const expected = pending?.request.filesize ?? 0;
    // Read at most the announced size (+1 to detect excess), always consuming the whole body.
    const body = await readBody(req, pending ? expected + 1 : 0);
    const fail = (status: number, message: string) => this.answer(req, res, 'upload', status, body.total, message);

    const fault = this.takeFault('upload');
    if (fault?.kind === 'status500') return fail(500, 'injected fault: internal error');
    if (fault?.kind === 'status4xx') return fail(fault.status ?? 400, fault.message ?? 'injected fault: rejected');

    if (!pending) return fail(400, 'unknown encrypted_query_param: call getuploadurl first and use its upload_param');
    if (filekey !== pending.request.filekey) return fail(400, 'filekey does not match the one sent to getuploadurl');
    if (this.options.maxBytes !== undefined && body.total > paddedSize(this.options.maxBytes)) {
      return fail(413, `upload of ${body.total} bytes is over the CDN limit`);
    }
    if (body.total !== expected) return fail(400, `body is ${body.total} bytes but getuploadurl announced filesize ${expected}`);
    if (this.options.strict) {
      const problem = verifyUpload(pending.request, body.data);
      if (problem) return fail(400, problem);
    }

    if (fault?.kind === 'noEncryptedParam') return this.answer(req, res, 'upload', 200, body.total);

    const downloadParam = pending.downloadParam ?? opaqueParam();
    pending.downloadParam = downloadParam;
    const r = pending.request;
    this.objects.set(downloadParam, {
      encryptQueryParam: downloadParam,
      ciphertext: body.data,
      upload: {
        filekey: r.filekey,
        aeskeyHex: r.aeskey,
        rawsize: r.rawsize,
        rawfilemd5: r.rawfilemd5,
        mediaType: r.media_type,
        toUserId: r.to_user_id,
      },
    });
    res.setHeader('x-encrypted-param', downloadParam);
    this.answer(req, res, 'upload', 200, body.total);
  }

  // ---- download ----

  private async handleDownload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    await drain(req);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.answer(req, res, 'download', 405, 0, 'download needs GET');
    }
    const fault = this.takeFault('download');
    if (fault?.kind === 'status500') return this.answer(req, res, 'download', 500, 0, 'injected fault: internal error');
    if (fault?.kind === 'status4xx') {
      return this.answer(req, res, 'download', fault.status ?? 400, 0, fault.message ?? 'injected fault: rejected');
    }
    const object = this.objects.get(query.get('encrypted_query_param') ?? '');
    if (!object) return this.answer(req, res, 'download', 404, 0, 'unknown encrypted_query_param');

    const data = object.ciphertext;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(fault?.kind === 'oversizedBody' ? OVERSIZED_BODY_BYTES : data.length));
    this.record(req, 'download', 200, data.length, fault ? `injected fault: ${fault.kind}` : undefined);
    if (req.method === 'HEAD') return void res.end();
    if (fault?.kind === 'oversizedBody') return void res.write(data.subarray(0, SLOW_CHUNK));
    if (fault?.kind === 'truncatedBody') {
      // Announce the full length, send part of it, then cut the connection.
      res.write(data.subarray(0, Math.floor(data.length / 2)), () => res.socket?.destroy());
      return;
    }
    if (fault?.kind === 'slowBody') return dribble(res, data, fault.delayMs ?? DEFAULT_SLOW_DELAY_MS);
    res.end(data);
  }

  // ---- helpers ----

  private takeFault(op: CdnFault['op']): CdnFault | undefined {
    const index = this.faults.findIndex((fault) => fault.op === op);
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private record(req: IncomingMessage, op: CdnRequestRecord['op'], status: number, bytes: number, error?: string): void {
    this.requests.push({ op, method: req.method ?? '', status, bytes, headers: req.headers, ...(error ? { error } : {}) });
  }

  /** Ends the response; errors go in x-error-message and the body, as the real CDN does. */
  private answer(req: IncomingMessage, res: ServerResponse, op: CdnRequestRecord['op'], status: number, bytes: number, error?: string): void {
    this.record(req, op, status, bytes, error);
    res.statusCode = status;
    if (error) {
      res.setHeader('x-error-message', error.replace(/[^\x20-\x7e]/g, '?'));
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(error);
    } else {
      res.end();
    }
  }
}

/** Strict mode: the ciphertext must decrypt with the announced hex key to the announced size and MD5. */
function verifyUpload(request: GetUploadUrlRequest, ciphertext: Buffer): string | undefined {
  if (!/^[0-9a-f]{32}$/i.test(request.aeskey)) return 'aeskey must be 32 hex characters';
  if (request.filesize !== paddedSize(request.rawsize)) {
    return `filesize ${request.filesize} is not the padded size of rawsize ${request.rawsize} (expected ${paddedSize(request.rawsize)})`;
  }
  let plaintext: Buffer;
  try {
    plaintext = decryptAesEcb(Buffer.from(request.aeskey, 'hex'), ciphertext);
  } catch {
    return 'body does not decrypt with the aeskey announced to getuploadurl (wrong key or padding)';
  }
  if (plaintext.length !== request.rawsize) return `decrypted size ${plaintext.length} does not match rawsize ${request.rawsize}`;
  const md5 = createHash('md5').update(plaintext).digest('hex');
  if (md5 !== request.rawfilemd5.toLowerCase()) return `decrypted MD5 ${md5} does not match rawfilemd5 ${request.rawfilemd5}`;
  return undefined;
}

/** Reads the request body, keeping at most `keep` bytes but always consuming everything. */
async function readBody(req: IncomingMessage, keep: number): Promise<{ data: Buffer; total: number }> {
  const data = Buffer.allocUnsafe(keep);
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (total < keep) chunk.copy(data, total, 0, Math.min(chunk.length, keep - total));
    total += chunk.length;
  }
  return { data: data.subarray(0, Math.min(total, keep)), total };
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req) {
    // discard
  }
}

function dribble(res: ServerResponse, data: Buffer, delayMs: number): void {
  let offset = 0;
  const next = () => {
    if (res.destroyed) return;
    if (offset >= data.length) return void res.end();
    const piece = data.subarray(offset, offset + SLOW_CHUNK);
    offset += piece.length;
    res.write(piece);
    setTimeout(next, delayMs);
  };
  next();
}

function silkDurationMs(silk: Buffer): number {
  try {
    return getDuration(silk);
  } catch {
    return 0;
  }
}

/**
 * A CDN plus a minimal getuploadurl on one local port, for tests and the
 * benchmark (the full simulator mounts SimCdn itself). API base is
 * `http://127.0.0.1:<port>/`, CDN base `http://127.0.0.1:<port>/c2c`.
 */
export interface StandaloneCdn {
  cdn: SimCdn;
  apiBaseUrl: string;
  cdnBaseUrl: string;
  /** getuploadurl bodies as received. */
  uploadUrlRequests: GetUploadUrlRequest[];
  /** Replaces the getuploadurl answer (for URL fallback tests); return undefined for the default. */
  overrideUploadUrlAnswer?: (request: GetUploadUrlRequest, normal: { upload_param: string }) => object | undefined;
  close(): Promise<void>;
}

export async function startStandaloneCdn(options: { strict: boolean; maxBytes?: number } = { strict: true }): Promise<StandaloneCdn> {
  const cdn = new SimCdn(options);
  let server: Server;
  const state: StandaloneCdn = {
    cdn,
    apiBaseUrl: '',
    cdnBaseUrl: '',
    uploadUrlRequests: [],
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/c2c/')) return void cdn.handle(req, res, url.pathname, url.searchParams);
    if (url.pathname === '/ilink/bot/getuploadurl' && req.method === 'POST') {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
        const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GetUploadUrlRequest;
        state.uploadUrlRequests.push(request);
        const normal = cdn.authorizeUpload(request);
        const answer = state.overrideUploadUrlAnswer?.(request, normal) ?? normal;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ ret: 0, ...answer }));
      })();
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.apiBaseUrl = `http://127.0.0.1:${port}/`;
  state.cdnBaseUrl = `http://127.0.0.1:${port}/c2c`;
  return state;
}
