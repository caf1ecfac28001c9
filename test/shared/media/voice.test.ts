import { pcmToWav, silkDecode, silkToWav, wavHeader } from '../../../shared/media';
import { makeSamplePcm, makeSampleSilk } from '../../../simulator/silk-sample';

describe('WAV header (§7 Voice)', () => {
  it('is the exact 44 bytes for N = 1000', () => {
    const expected = Buffer.concat([
      Buffer.from('RIFF'),
      Buffer.from([0x0c, 0x04, 0x00, 0x00]), // 36 + 1000 = 1036
      Buffer.from('WAVE'),
      Buffer.from('fmt '),
      Buffer.from([16, 0, 0, 0]),
      Buffer.from([1, 0]), // PCM
      Buffer.from([1, 0]), // mono
      Buffer.from([0xc0, 0x5d, 0x00, 0x00]), // 24000
      Buffer.from([0x80, 0xbb, 0x00, 0x00]), // 48000
      Buffer.from([2, 0]),
      Buffer.from([16, 0]),
      Buffer.from('data'),
      Buffer.from([0xe8, 0x03, 0x00, 0x00]), // 1000
    ]);
    expect(wavHeader(1000)).toEqual(expected);
    expect(pcmToWav(Buffer.alloc(1000)).length).toBe(1044);
  });
});

describe('SILK → WAV', () => {
  it('the generated sample is real SILK of about 1.5 s', async () => {
    const silk = await makeSampleSilk();
    expect(silk.subarray(0, 10).toString('latin1')).toBe('\x02#!SILK_V3');
    const pcm = await silkDecode(silk, 24000);
    expect(pcm.data.length / 48000).toBeGreaterThan(1.4);
    expect(pcm.data.length / 48000).toBeLessThan(1.7);
  });

  it('decodes the sample to 24 kHz mono WAV with a consistent header and audible content', async () => {
    const voice = await silkToWav(await makeSampleSilk());
    expect(voice.mimeType).toBe('audio/wav');
    expect(voice.note).toBeUndefined();
    const n = voice.data.length - 44;
    expect(voice.data.subarray(0, 44)).toEqual(wavHeader(n));
    expect(voice.durationMs).toBeGreaterThan(1400);
    expect(voice.durationMs).toBeLessThan(1700);
    // The melody survives: RMS of the decoded samples is far from silence.
    let sum = 0;
    for (let i = 44; i + 1 < voice.data.length; i += 2) sum += voice.data.readInt16LE(i) ** 2;
    const rms = Math.sqrt(sum / (n / 2));
    expect(rms).toBeGreaterThan(1000);
    expect(makeSamplePcm().length).toBe(72000);
  });

  it('an undecodable voice comes back as audio/silk with a note', async () => {
    const garbage = Buffer.from('definitely not a silk stream');
    const voice = await silkToWav(garbage);
    expect(voice.mimeType).toBe('audio/silk');
    expect(voice.data).toBe(garbage);
    expect(voice.note).toMatch(/could not be decoded/);
    expect(voice.note).toMatch(/silk decoding failure/);
  });
});
