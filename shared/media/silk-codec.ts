/**
 * silk-wasm, made to work in every host. Its CommonJS build loads itself with
 * a dynamic `import("module")`, which some sandboxes refuse (Jest's VM without
 * --experimental-vm-modules; possibly other embedders). We call it in process
 * first; if that fails for that reason, we remember it and run each call in a
 * short-lived worker thread, which is an ordinary Node context.
 */
import { Worker } from 'node:worker_threads';
import * as silk from 'silk-wasm';

export interface SilkResult {
  data: Buffer;
  /** Milliseconds. */
  duration: number;
}

type SilkOp = 'encode' | 'decode';

let inProcessUnavailable = false;

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function isLoaderLimitation(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /dynamic import|experimental-vm-modules|ERR_VM_DYNAMIC_IMPORT/i.test(message);
}

/** SILK → mono s16le PCM at sampleRate. */
export function silkDecode(input: Buffer, sampleRate: number): Promise<SilkResult> {
  return runSilk('decode', input, sampleRate);
}

/** Mono s16le PCM (or WAV) at sampleRate → SILK. */
export function silkEncode(input: Buffer, sampleRate: number): Promise<SilkResult> {
  return runSilk('encode', input, sampleRate);
}

async function runSilk(op: SilkOp, input: Buffer, sampleRate: number): Promise<SilkResult> {
  if (!inProcessUnavailable) {
    try {
      const result = await silk[op](input, sampleRate);
      return { data: toBuffer(result.data), duration: result.duration };
    } catch (error) {
      if (!isLoaderLimitation(error)) throw error;
      inProcessUnavailable = true;
    }
  }
  return runSilkInWorker(op, input, sampleRate);
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const silk = require(workerData.modulePath);
silk[workerData.op](workerData.input, workerData.sampleRate).then(
  (r) => parentPort.postMessage({ ok: true, data: r.data, duration: r.duration }),
  (e) => parentPort.postMessage({ ok: false, message: String((e && e.message) || e) }),
);
`;

/** Runs one silk-wasm call in a fresh worker thread (exported for tests). */
export function runSilkInWorker(op: SilkOp, input: Buffer, sampleRate: number): Promise<SilkResult> {
  return new Promise<SilkResult>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { op, input: new Uint8Array(input), sampleRate, modulePath: require.resolve('silk-wasm') },
    });
    let settled = false;
    worker.once('message', (message: { ok: boolean; data?: Uint8Array; duration?: number; message?: string }) => {
      settled = true;
      void worker.terminate();
      if (message.ok && message.data) resolve({ data: toBuffer(message.data), duration: message.duration ?? 0 });
      else reject(new Error(message.message ?? 'silk failed'));
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`silk worker exited with code ${code}`));
    });
  });
}
