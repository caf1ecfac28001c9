/**
 * Media benchmark (§7): AES-128-ECB throughput of our streaming pipeline vs
 * `openssl speed` vs one whole-buffer cipher call, and peak RSS above baseline
 * while uploading / downloading a 100 MiB file through the simulator CDN.
 * Each RSS measurement runs in its own child process so the CDN's stored copy
 * and the parent's buffers do not count.
 *
 *   npm run build && node dist/bench/media.js
 */
import { execFile, spawn } from 'node:child_process';
import { createCipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CIPHER_CHUNK, createEncryptStream, downloadMedia, uploadMedia } from '../shared/media';
import { Transport } from '../shared/transport';
import { startStandaloneCdn } from '../simulator/cdn';

const MiB = 1024 * 1024;
const SIZE = 100 * MiB;

// ---------- measurements in the parent ----------

async function streamingThroughput(data: Buffer): Promise<number> {
  const key = randomBytes(16);
  let best = 0;
  // Run 0 is a warm-up (the allocator's heap grows to its working size); the best of the rest counts.
  for (let run = 0; run < 6; run++) {
    const slices = (function* () {
      for (let offset = 0; offset < data.length; offset += CIPHER_CHUNK) yield data.subarray(offset, offset + CIPHER_CHUNK);
    })();
    let out = 0;
    const start = process.hrtime.bigint();
    await pipeline(
      Readable.from(slices, { objectMode: false }),
      createEncryptStream(key),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          out += chunk.length;
          callback();
        },
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (out !== data.length + 16) throw new Error(`streaming produced ${out} bytes`);
    if (run > 0) best = Math.max(best, data.length / seconds);
  }
  return best;
}

/** The ceiling for any Node pipeline: a bare loop of cipher.update() over 64 KiB slices. */
function bareLoopThroughput(data: Buffer): number {
  const key = randomBytes(16);
  let best = 0;
  for (let run = 0; run < 6; run++) {
    const start = process.hrtime.bigint();
    const cipher = createCipheriv('aes-128-ecb', key, null);
    for (let offset = 0; offset < data.length; offset += CIPHER_CHUNK) cipher.update(data.subarray(offset, offset + CIPHER_CHUNK));
    cipher.final();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (run > 0) best = Math.max(best, data.length / seconds);
  }
  return best;
}

function wholeBufferThroughput(data: Buffer): number {
  const key = randomBytes(16);
  let best = 0;
  for (let run = 0; run < 2; run++) {
    const start = process.hrtime.bigint();
    const cipher = createCipheriv('aes-128-ecb', key, null);
    const out = cipher.update(data);
    cipher.final();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (out.length !== data.length) throw new Error('whole-buffer size mismatch');
    best = Math.max(best, data.length / seconds);
  }
  return best;
}

function opensslThroughput(): Promise<{ bytesPerSecond?: number; note?: string }> {
  return new Promise((resolve) => {
    execFile('openssl', ['speed', '-evp', 'aes-128-ecb', '-seconds', '2', '-bytes', '65536'], { timeout: 60_000 }, (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ note: 'openssl is not installed' });
      // Result line: "AES-128-ECB   10571420.19k" (in 1000s of bytes per second).
      const line = stdout.split('\n').find((l) => /^aes-128-ecb\s/i.test(l.trim()));
      const match = line?.match(/([\d.]+)k\s*$/);
      if (!match) return resolve({ note: `could not parse openssl output${error ? ` (${error.message})` : ''}` });
      resolve({ bytesPerSecond: Number(match[1]) * 1000 });
    });
  });
}

interface ChildResult {
  baselineRss: number;
  peakRss: number;
  peakSource: string;
  ms: number;
  extra?: Record<string, unknown>;
}

function runChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--child', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`child ${args[0]} exited with ${code}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildResult);
    });
  });
}

// ---------- child side ----------

function hwmBytes(): number | undefined {
  try {
    const match = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets the kernel's peak-RSS counter (Linux); false when unsupported. */
function resetHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

async function child(args: string[]): Promise<void> {
  const [mode] = args;
  let sampledPeak = 0;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss())), 2);
  let run: () => Promise<Record<string, unknown>>;
  let warm: () => Promise<unknown>;
  if (mode === 'upload') {
    const [, apiBase, cdnBase, file] = args as [string, string, string, string];
    const transport = new Transport({ baseUrl: apiBase, token: 'bench-token' });
    const ctx = { transport, cdnBaseUrl: cdnBase };
    warm = () => uploadMedia(ctx, Buffer.alloc(4096), { fileName: 'warm.bin', toUserId: 'u@im.wechat' });
    run = async () => {
      const uploaded = await uploadMedia(ctx, file, { fileName: 'bench.bin', toUserId: 'u@im.wechat' });
      return { media: uploaded.media };
    };
  } else {
    const [, cdnBase, param, aesKey] = args as [string, string, string, string];
    const item = { type: 'file' as const, wireType: 4, file: { fileName: 'bench.bin', media: { encryptQueryParam: param, aesKey } } };
    warm = async () => undefined;
    run = async () => {
      const result = await downloadMedia({ cdnBaseUrl: cdnBase }, item);
      return { size: result.size };
    };
  }
  await warm();
  global.gc?.();
  const baselineRss = process.memoryUsage.rss();
  const kernelPeak = resetHwm();
  sampledPeak = baselineRss;
  const start = Date.now();
  const extra = await run();
  const ms = Date.now() - start;
  clearInterval(sampler);
  const hwm = kernelPeak ? hwmBytes() : undefined;
  const peakRss = Math.max(sampledPeak, hwm ?? 0, process.memoryUsage.rss());
  const result: ChildResult = { baselineRss, peakRss, peakSource: hwm ? 'VmHWM (reset before the run)' : 'sampled every 2 ms', ms, extra };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------- report ----------

const gbps = (bytesPerSecond: number) => `${(bytesPerSecond / 1e9).toFixed(2)} GB/s`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv.slice(3));

  const cpus = os.cpus();
  console.log('Media benchmark (AES-128-ECB, CDN upload/download of 100 MiB)');
  console.log(`  CPU     ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} cores`);
  console.log(`  Memory  ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`);

  const data = Buffer.allocUnsafe(SIZE);
  for (let offset = 0; offset < SIZE; offset += 16 * MiB) randomFillSync(data, offset, Math.min(16 * MiB, SIZE - offset));

  const load = os.loadavg()[0] ?? 0;
  console.log(`  Load    ${load.toFixed(2)} (1-min average before the run; other processes skew the figures)`);
  const streaming = await streamingThroughput(data);
  const bare = bareLoopThroughput(data);
  const whole = wholeBufferThroughput(data);
  const openssl = await opensslThroughput();

  const dir = await mkdtemp(join(os.tmpdir(), 'ilink-bench-'));
  const file = join(dir, 'bench.bin');
  writeFileSync(file, data);
  const cdn = await startStandaloneCdn({ strict: true });
  let upload: ChildResult;
  let download: ChildResult;
  try {
    upload = await runChild(['upload', cdn.apiBaseUrl, cdn.cdnBaseUrl, file]);
    const media = upload.extra?.media as { encryptQueryParam: string; aesKey: string };
    download = await runChild(['download', cdn.cdnBaseUrl, media.encryptQueryParam, media.aesKey]);
    if (download.extra?.size !== SIZE) throw new Error(`download returned ${String(download.extra?.size)} bytes`);
  } finally {
    await cdn.close();
    await rm(dir, { recursive: true, force: true });
  }

  const rows: Array<[string, string, string]> = [];
  const vsOpenssl = openssl.bytesPerSecond ? streaming / openssl.bytesPerSecond : undefined;
  rows.push(['streaming encrypt (64 KiB slices)', gbps(streaming), `best of 5 after a warm-up`]);
  rows.push(['bare cipher.update() loop, 64 KiB (Node ceiling)', gbps(bare), `streaming = ${(streaming / bare).toFixed(2)}× the bare loop`]);
  rows.push([
    'openssl speed -evp aes-128-ecb (64 KiB)',
    openssl.bytesPerSecond ? gbps(openssl.bytesPerSecond) : (openssl.note ?? 'n/a'),
    vsOpenssl !== undefined ? `streaming = ${vsOpenssl.toFixed(2)}× openssl (target ≥ 0.35×) ${vsOpenssl >= 0.35 ? 'OK' : 'MISSED'}` : '',
  ]);
  const vsWhole = streaming / whole;
  rows.push(['whole-buffer update() over 100 MiB', gbps(whole), `streaming = ${vsWhole.toFixed(1)}× whole-buffer (target ≥ 10×) ${vsWhole >= 10 ? 'OK' : 'MISSED'}`]);
  const upExtra = upload.peakRss - upload.baselineRss;
  rows.push([
    'upload 100 MiB file: peak RSS above baseline',
    mib(upExtra),
    `${upload.ms} ms, ${upload.peakSource}; target ≤ 64 MiB ${upExtra <= 64 * MiB ? 'OK' : 'MISSED'}`,
  ]);
  const downExtra = download.peakRss - download.baselineRss;
  rows.push(['download 100 MiB file: peak RSS above baseline', mib(downExtra), `${download.ms} ms, ${download.peakSource}; includes the 100 MiB result Buffer`]);

  const width = Math.max(...rows.map((r) => r[0].length));
  const width2 = Math.max(...rows.map((r) => r[1].length));
  console.log('');
  for (const [name, value, note] of rows) console.log(`  ${name.padEnd(width)}  ${value.padStart(width2)}  ${note}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
