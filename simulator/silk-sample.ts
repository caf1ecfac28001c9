/**
 * A voice note for the simulator, made at runtime (no committed binaries):
 * ~1.5 s of a two-tone melody as 24 kHz mono s16le, encoded to SILK with
 * silk-wasm, the format WeChat voice notes use (§7 Voice, encode_type 6).
 */
import { silkEncode } from '../shared/media/silk-codec';

const SAMPLE_RATE = 24000;

/** Mono s16le PCM: each note a sine with a short fade in and out (no clicks). */
export function makeSamplePcm(notesHz: number[] = [523.25, 659.25, 783.99], noteSeconds = 0.5, amplitude = 9000): Buffer {
  const perNote = Math.round(SAMPLE_RATE * noteSeconds);
  const fade = Math.round(SAMPLE_RATE * 0.01);
  const pcm = Buffer.alloc(perNote * notesHz.length * 2);
  notesHz.forEach((hz, note) => {
    for (let i = 0; i < perNote; i++) {
      const envelope = Math.min(1, i / fade, (perNote - 1 - i) / fade);
      const sample = Math.round(amplitude * envelope * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE));
      pcm.writeInt16LE(sample, (note * perNote + i) * 2);
    }
  });
  return pcm;
}

/** ~1.5 s of SILK (three 0.5 s notes), as a WeChat client would record it. */
export async function makeSampleSilk(): Promise<Buffer> {
  return (await silkEncode(makeSamplePcm(), SAMPLE_RATE)).data;
}
