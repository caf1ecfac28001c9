/** Upload and download through the full simulator (its getuploadurl validation + SimCdn). */
import { buildMediaItem, downloadMedia, uploadMedia } from '../../../shared/media';
import { Transport } from '../../../shared/transport';
import { makeSampleSilk } from '../../../simulator/silk-sample';
import { startSimulator, type Simulator } from '../../../simulator';
import { bytes, friendlyItem, rejection } from './helpers';

let sim: Simulator;
let transport: Transport;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, strict: true });
  const bot = sim.admin.createBot();
  transport = new Transport({ baseUrl: sim.apiBaseUrl, token: bot.token });
});
afterAll(() => sim.stop());

describe('media through the simulator', () => {
  it.each([
    ['photo.png', Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), bytes(3000)])],
    ['clip.mp4', bytes(250_000, 2)],
    ['doc.pdf', bytes(12_345, 3)],
  ])('%s: upload, then download the item we would send, byte for byte', async (fileName, data) => {
    const uploaded = await uploadMedia({ transport, cdnBaseUrl: sim.cdnBaseUrl }, data, { fileName, toUserId: 'alice@im.wechat' });
    expect(sim.cdn.decryptStored(uploaded.media.encryptQueryParam!, uploaded.media.aesKey!)!.equals(data)).toBe(true);
    const result = await downloadMedia({ cdnBaseUrl: sim.cdnBaseUrl }, friendlyItem(buildMediaItem(uploaded)));
    expect(result.data.equals(data)).toBe(true);
  });

  it.each([
    ['../../settings.js', 'settings.js'],
    ['..\\..\\node_modules\\evil.js', 'evil.js'],
    ['/etc/passwd', 'passwd'],
    ['.bashrc', 'bashrc'],
    ['...', 'file.bin'],
    ['report\r\n.pdf', 'report.pdf'],
    [`${'文'.repeat(100)}.pdf`, `${'文'.repeat(65)}.pdf`],
  ])('a hostile file name from the sender (%j) comes out safe to write (%j), the raw one apart', async (hostile, safe) => {
    const uploaded = await uploadMedia({ transport, cdnBaseUrl: sim.cdnBaseUrl }, bytes(40), { fileName: 'plain.txt', toUserId: 'alice@im.wechat' });
    const wire = buildMediaItem(uploaded);
    wire.file_item!.file_name = hostile; // what a sender's client may put there
    const result = await downloadMedia({ cdnBaseUrl: sim.cdnBaseUrl }, friendlyItem(wire));
    expect(result.fileName).toBe(safe);
    expect(Buffer.byteLength(result.fileName)).toBeLessThanOrEqual(200);
    expect(result.originalFileName).toBe(hostile);
    expect(result.data.equals(bytes(40))).toBe(true);
  });

  it('a 100,000-character file name is cut in one pass to 200 bytes, extension kept', async () => {
    const uploaded = await uploadMedia({ transport, cdnBaseUrl: sim.cdnBaseUrl }, bytes(40), { fileName: 'plain.txt', toUserId: 'alice@im.wechat' });
    const wire = buildMediaItem(uploaded);
    wire.file_item!.file_name = `${'a'.repeat(100_000)}.txt`;
    const result = await downloadMedia({ cdnBaseUrl: sim.cdnBaseUrl }, friendlyItem(wire));
    expect(result.fileName).toBe(`${'a'.repeat(196)}.txt`);
  });

  it('upload_full_url scenario is honoured', async () => {
    sim.admin.setApiScenario({ uploadFullUrl: true });
    try {
      const uploaded = await uploadMedia({ transport, cdnBaseUrl: 'http://127.0.0.1:1/unused' }, bytes(100), {
        fileName: 'a.txt',
        toUserId: 'alice@im.wechat',
      });
      expect(sim.cdn.readObject(uploaded.media.encryptQueryParam!)).toBeDefined();
    } finally {
      sim.admin.setApiScenario({});
    }
  });

  it('CDN faults injected through the admin API are retried per §7', async () => {
    sim.admin.cdnFault({ op: 'upload', kind: 'status500', count: 2 });
    const uploaded = await uploadMedia({ transport, cdnBaseUrl: sim.cdnBaseUrl }, bytes(100), { fileName: 'a.txt', toUserId: 'alice@im.wechat' });
    expect(uploaded.media.encryptQueryParam).toBeTruthy();
    sim.admin.cdnFault({ op: 'upload', kind: 'status4xx', status: 400, message: 'bad upload' });
    const error = await rejection(uploadMedia({ transport, cdnBaseUrl: sim.cdnBaseUrl }, bytes(100), { fileName: 'a.txt', toUserId: 'alice@im.wechat' }));
    expect(error.message).toContain('bad upload');
  });

  it('a simulated user voice note downloads as WAV', async () => {
    const wire = await sim.cdn.encryptAndStore(await makeSampleSilk(), { kind: 'voice' });
    const result = await downloadMedia({ cdnBaseUrl: sim.cdnBaseUrl }, friendlyItem(wire));
    expect(result.mimeType).toBe('audio/wav');
  });
});
