/**
 * Voice (§7 Voice): WeChat voice notes are SILK. We decode at the fixed 24 kHz
 * (the message's sample_rate is ignored, as in the official client) to mono
 * s16le and wrap it in a 44-byte WAV header; if decoding fails the raw SILK is
 * kept.
 *
 * Outbound: the official client never sends VOICE (UploadMediaType 4, §7 step
 * 3), so audio is sent as a FILE item (mediaTypeForFile maps audio/* to 3).
 * We do not encode outbound voice notes.
 */
import { silkDecode } from './silk-codec';

export const VOICE_SAMPLE_RATE = 24000;
const BYTES_PER_SAMPLE = 2;

export interface DecodedVoice {
  data: Buffer;
  mimeType: 'audio/wav' | 'audio/silk';
  /** Duration in ms; undefined when the SILK could not be decoded. */
  durationMs?: number;
  /** Set when the voice could not be decoded and is returned as SILK. */
  note?: string;
}

/** The 44-byte PCM WAV header for N bytes of 24 kHz mono s16le (§7, all little-endian). */
export function wavHeader(pcmBytes: number, sampleRate = VOICE_SAMPLE_RATE): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcmBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * BYTES_PER_SAMPLE, 28); // byte rate
  header.writeUInt16LE(BYTES_PER_SAMPLE, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcmBytes, 40);
  return header;
}

export function pcmToWav(pcm: Buffer, sampleRate = VOICE_SAMPLE_RATE): Buffer {
  return Buffer.concat([wavHeader(pcm.length, sampleRate), pcm]);
}

/** SILK → WAV; never throws: an undecodable input comes back as audio/silk with a note. */
export async function silkToWav(silk: Buffer): Promise<DecodedVoice> {
  try {
    const pcm = (await silkDecode(silk, VOICE_SAMPLE_RATE)).data;
    if (pcm.length === 0) throw new Error('no audio samples');
    return {
      data: pcmToWav(pcm),
      mimeType: 'audio/wav',
      durationMs: Math.round((pcm.length / (VOICE_SAMPLE_RATE * BYTES_PER_SAMPLE)) * 1000),
    };
  } catch (error) {
    return {
      data: silk,
      mimeType: 'audio/silk',
      note: `the voice message could not be decoded to WAV (${(error as Error).message || 'unknown error'}); it is kept as SILK`,
    };
  }
}
