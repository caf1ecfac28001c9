/**
 * Media benchmark (§7): AES-128-ECB throughput of the upload's encrypt stream
 * (the very stream uploadMedia sends) and of the download's decrypt stage vs
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
import type { Readable } from 'node:stream';
import {
  CIPHER_CHUNK,
  downloadMedia,
  EcbDecryptor,
  encryptAesEcb,
  paddedSize,
  prepareSource,
  uploadMedia,
  type PreparedSource,
} from '../shared/media';
import { Transport } from '../shared/transport';
import { startStandaloneCdn } from '../simulator/cdn';

const MiB = 1024 * 1024;
const SIZE = 100 * MiB;

// ---------- measurements in the parent ----------

/** Best of `runs` timed runs after one warm-up, by wall clock and by the process's CPU time (user + system, all threads). */
interface Throughput {
  wall: number;
  cpu: number;
  /** Page faults per 4 KiB page processed, in the fastest run: fresh memory, the main cost on a VM. */
  faultsPerPage: number;
}

async function bestOf(runs: number, bytes: number, once: () => Promise<void> | void): Promise<Throughput> {
  const best: Throughput = { wall: 0, cpu: 0, faultsPerPage: 0 };
  // Run 0 is a warm-up (JIT, and the allocator's heap grows to its working size).
  for (let run = 0; run <= runs; run++) {
    const faultsBefore = process.resourceUsage().minorPageFault;
    const cpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    await once();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const faults = process.resourceUsage().minorPageFault - faultsBefore;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (run === 0) continue;
    if (bytes / seconds > best.wall) {
      best.wall = bytes / seconds;
      best.faultsPerPage = faults / (bytes / 4096);
    }
    best.cpu = Math.max(best.cpu, bytes / cpuSeconds);
  }
  return best;
}

/** Drains a body the way undici sends it: 'data' events, one socket write per chunk. */
function drain(body: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    body.on('data', (chunk: Buffer) => (bytes += chunk.length));
    body.on('end', () => resolve(bytes));
    body.on('error', reject);
  });
}

/**
 * What uploadMedia does with a file once getuploadurl has answered: the
 * ciphertext stream from prepareSource().openCiphertext(), read from the file
 * (warm in the page cache) and encrypted as the request body is pulled. Only
 * the socket write is left out. Pass 1 (size + MD5) is timed separately.
 */
async function uploadEncryptThroughput(file: string): Promise<{ encrypt: Throughput; md5: Throughput }> {
  let prepared: PreparedSource | undefined;
  const md5 = await bestOf(3, SIZE, async () => {
    prepared = await prepareSource(file, SIZE);
  });
  const key = randomBytes(16);
  const encrypt = await bestOf(8, SIZE, async () => {
    const bytes = await drain(prepared!.openCiphertext(key));
    if (bytes !== paddedSize(SIZE)) throw new Error(`the upload body had ${bytes} bytes`);
  });
  return { encrypt, md5 };
}

/**
 * The decrypt stage of downloadMedia: EcbDecryptor over network-sized (64 KiB)
 * chunks, each piece copied into a result Buffer allocated per download, as
 * fetchBody does. Not included: receiving the chunks and the MD5 check.
 */
async function downloadDecryptThroughput(data: Buffer): Promise<Throughput> {
  const key = randomBytes(16);
  const ciphertext = encryptAesEcb(key, data);
  const NETWORK_CHUNK = 64 * 1024;
  return bestOf(8, SIZE, () => {
    const result = Buffer.allocUnsafe(ciphertext.length);
    const decryptor = new EcbDecryptor(key);
    let length = 0;
    const write = (piece: Buffer) => {
      piece.copy(result, length);
      length += piece.length;
    };
    for (let offset = 0; offset < ciphertext.length; offset += NETWORK_CHUNK) {
      decryptor.update(ciphertext.subarray(offset, offset + NETWORK_CHUNK), write);
    }
    write(decryptor.final());
    if (length !== SIZE) throw new Error(`decrypted ${length} bytes`);
  });
}

/** The ceiling for any Node pipeline: a bare loop of cipher.update() over CIPHER_CHUNK slices of a buffer. */
function bareLoopThroughput(data: Buffer): Promise<Throughput> {
  const key = randomBytes(16);
  return bestOf(8, SIZE, () => {
    const cipher = createCipheriv('aes-128-ecb', key, null);
    for (let offset = 0; offset < data.length; offset += CIPHER_CHUNK) cipher.update(data.subarray(offset, offset + CIPHER_CHUNK));
    cipher.final();
  });
}

/**
 * The two costs that decide the figures above, each as a minimum over many
 * tries (load can only add time): one update() of CIPHER_CHUNK bytes on warm
 * memory, and the first touch of a fresh 4 KiB page. Every update() returns a
 * new Buffer, so throughput depends on how often that Buffer lands on fresh pages.
 */
function perCallCosts(): { updateBytesPerSecond: number; faultMicros: number | undefined } {
  const cipher = createCipheriv('aes-128-ecb', randomBytes(16), null);
  const input = randomBytes(CIPHER_CHUNK);
  let updateNs = Infinity;
  for (let i = 0; i < 2000; i++) {
    const start = process.hrtime.bigint();
    cipher.update(input);
    updateNs = Math.min(updateNs, Number(process.hrtime.bigint() - start));
  }
  let faultMicros: number | undefined;
  for (let run = 0; run < 10; run++) {
    const fresh = Buffer.allocUnsafeSlow(8 * MiB);
    const faultsBefore = process.resourceUsage().minorPageFault;
    const start = process.hrtime.bigint();
    for (let offset = 0; offset < fresh.length; offset += 4096) fresh[offset] = 1;
    const micros = Number(process.hrtime.bigint() - start) / 1e3;
    const faults = process.resourceUsage().minorPageFault - faultsBefore;
    if (faults > 0) faultMicros = Math.min(faultMicros ?? Infinity, micros / faults);
  }
  return { updateBytesPerSecond: CIPHER_CHUNK / (updateNs / 1e9), faultMicros };
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
      return { media: uploaded.media, md5: uploaded.md5 };
    };
  } else {
    const [, cdnBase, param, aesKey, md5] = args as [string, string, string, string, string];
    // As a real inbound file item: with the plaintext's MD5, which downloadMedia checks.
    const item = { type: 'file' as const, wireType: 4, file: { fileName: 'bench.bin', md5, media: { encryptQueryParam: param, aesKey } } };
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

  const dir = await mkdtemp(join(os.tmpdir(), 'ilink-bench-'));
  const file = join(dir, 'bench.bin');
  writeFileSync(file, data);

  const loadBefore = os.loadavg()[0] ?? 0;
  const upload = await uploadEncryptThroughput(file);
  const decrypt = await downloadDecryptThroughput(data);
  const bare = await bareLoopThroughput(data);
  const whole = wholeBufferThroughput(data);
  const perCall = perCallCosts();
  const openssl = await opensslThroughput();
  const loadAfter = os.loadavg()[0] ?? 0;
  console.log(`  Load    ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} (1-min average around the throughput runs; other processes skew the figures)`);

  const cdn = await startStandaloneCdn({ strict: true });
  let uploadRss: ChildResult;
  let downloadRss: ChildResult;
  try {
    uploadRss = await runChild(['upload', cdn.apiBaseUrl, cdn.cdnBaseUrl, file]);
    const media = uploadRss.extra?.media as { encryptQueryParam: string; aesKey: string };
    downloadRss = await runChild(['download', cdn.cdnBaseUrl, media.encryptQueryParam, media.aesKey, String(uploadRss.extra?.md5)]);
    if (downloadRss.extra?.size !== SIZE) throw new Error(`download returned ${String(downloadRss.extra?.size)} bytes`);
  } finally {
    await cdn.close();
    await rm(dir, { recursive: true, force: true });
  }

  const slice = `${CIPHER_CHUNK / 1024} KiB`;
  const both = (t: Throughput) => `${gbps(t.wall)} (CPU time: ${gbps(t.cpu)}; ${t.faultsPerPage.toFixed(2)} faults/page)`;
  const rows: Array<[string, string, string]> = [];
  const streaming = upload.encrypt.wall;
  const vsOpenssl = openssl.bytesPerSecond ? streaming / openssl.bytesPerSecond : undefined;
  const vsOpensslCpu = openssl.bytesPerSecond ? upload.encrypt.cpu / openssl.bytesPerSecond : undefined;
  rows.push([
    'upload encrypt: file → request body (openCiphertext)',
    both(upload.encrypt),
    `best of 8 after a warm-up; ${slice} slices; = ${(streaming / bare.wall).toFixed(2)}× the bare loop`,
  ]);
  rows.push(['upload pass 1: size + MD5 of the file', both(upload.md5), 'best of 3; MD5 is the slower pass of an upload']);
  rows.push([
    'download decrypt: 64 KiB network chunks → result',
    both(decrypt),
    openssl.bytesPerSecond ? `= ${(decrypt.wall / openssl.bytesPerSecond).toFixed(2)}× openssl; best of 8` : 'best of 8',
  ]);
  rows.push([`bare cipher.update() loop, ${slice} (Node ceiling)`, both(bare), 'in-memory slices, output dropped at once']);
  rows.push([
    'openssl speed -evp aes-128-ecb (64 KiB)',
    openssl.bytesPerSecond ? gbps(openssl.bytesPerSecond) : (openssl.note ?? 'n/a'),
    vsOpenssl !== undefined && vsOpensslCpu !== undefined
      ? `upload encrypt = ${vsOpenssl.toFixed(2)}× openssl (target ≥ 0.35×) ${vsOpenssl >= 0.35 ? 'OK' : 'MISSED'}; ` +
        `by CPU time (how openssl speed counts) ${vsOpensslCpu.toFixed(2)}×`
      : '',
  ]);
  const chunkMicros = (CIPHER_CHUNK / perCall.updateBytesPerSecond) * 1e6;
  rows.push([
    `one update() of ${slice}, warm memory (min)`,
    gbps(perCall.updateBytesPerSecond),
    `${chunkMicros.toFixed(1)} µs per call` +
      (openssl.bytesPerSecond ? `; = ${(perCall.updateBytesPerSecond / openssl.bytesPerSecond).toFixed(2)}× openssl` : ''),
  ]);
  if (perCall.faultMicros !== undefined) {
    const pages = CIPHER_CHUNK / 4096;
    rows.push([
      'first touch of a fresh 4 KiB page (min)',
      `${perCall.faultMicros.toFixed(2)} µs`,
      `an output Buffer on fresh pages costs ${((pages * perCall.faultMicros) / chunkMicros).toFixed(0)}× its encryption`,
    ]);
  }
  const vsWhole = streaming / whole;
  rows.push(['whole-buffer update() over 100 MiB', gbps(whole), `upload encrypt = ${vsWhole.toFixed(1)}× whole-buffer (target ≥ 10×) ${vsWhole >= 10 ? 'OK' : 'MISSED'}`]);
  const upExtra = uploadRss.peakRss - uploadRss.baselineRss;
  rows.push([
    'upload 100 MiB file: peak RSS above baseline',
    mib(upExtra),
    `${uploadRss.ms} ms end to end, ${uploadRss.peakSource}; target ≤ 64 MiB ${upExtra <= 64 * MiB ? 'OK' : 'MISSED'}`,
  ]);
  const downExtra = downloadRss.peakRss - downloadRss.baselineRss;
  rows.push([
    'download 100 MiB file: peak RSS above baseline',
    mib(downExtra),
    `${downloadRss.ms} ms end to end incl. the MD5 check, ${downloadRss.peakSource}; includes the 100 MiB result Buffer`,
  ]);

  const width = Math.max(...rows.map((r) => r[0].length));
  const width2 = Math.max(...rows.map((r) => r[1].length));
  console.log('');
  for (const [name, value, note] of rows) console.log(`  ${name.padEnd(width)}  ${value.padStart(width2)}  ${note}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
