/** Test helpers: a local CDN + getuploadurl server, and wire → friendly conversion for media items. */
import { startStandaloneCdn, type StandaloneCdn } from '../../../simulator/cdn';
import type { CdnMedia, Item } from '../../../shared/model';
import { Transport } from '../../../shared/transport';
import type { CDNMedia, MessageItem } from '../../../shared/wire';

export interface Harness extends StandaloneCdn {
  transport: Transport;
}

export async function startHarness(options: { strict: boolean; maxBytes?: number } = { strict: true }): Promise<Harness> {
  const standalone = await startStandaloneCdn(options);
  const transport = new Transport({ baseUrl: standalone.apiBaseUrl, token: 'test-token-123456' });
  return Object.assign(standalone, { transport });
}

function media(wire: CDNMedia | undefined): CdnMedia | undefined {
  if (!wire) return undefined;
  return { encryptQueryParam: wire.encrypt_query_param, aesKey: wire.aes_key, encryptType: wire.encrypt_type, fullUrl: wire.full_url };
}

/** Just enough of the wire → friendly mapping for media items (messages.ts is another helper's). */
export function friendlyItem(wire: MessageItem): Item {
  switch (wire.type) {
    case 2:
      return { type: 'image', wireType: 2, image: { media: media(wire.image_item?.media), aesKeyHex: wire.image_item?.aeskey, midSize: wire.image_item?.mid_size } };
    case 3:
      return {
        type: 'voice',
        wireType: 3,
        voice: { media: media(wire.voice_item?.media), encodeType: wire.voice_item?.encode_type, playtimeMs: wire.voice_item?.playtime, transcript: wire.voice_item?.text },
      };
    case 4:
      return {
        type: 'file',
        wireType: 4,
        file: { media: media(wire.file_item?.media), fileName: wire.file_item?.file_name, md5: wire.file_item?.md5, size: Number(wire.file_item?.len) },
      };
    case 5:
      return { type: 'video', wireType: 5, video: { media: media(wire.video_item?.media), videoSize: wire.video_item?.video_size } };
    default:
      return { type: 'text', wireType: 1, text: wire.text_item?.text };
  }
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export { rejection } from '../../helpers/rejection';
