/**
 * statusTemplate translates once and fills values per message. The stand-in
 * for RED._ interpolates __name__ like Node-RED's i18next setup, over our real
 * catalogues, so the texts checked are the ones users see.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statusTemplate } from '../../node-red/lib/node-status';
import type { NodeAPI } from '../../node-red/lib/red-api';

function redFor(lang: 'en-US' | 'zh-CN', lookups: string[]): NodeAPI {
  const catalogue = JSON.parse(readFileSync(join(__dirname, '..', '..', 'node-red', 'locales', lang, 'ilink-send.json'), 'utf8')) as Record<string, unknown>;
  const _ = (key: string, values: Record<string, unknown> = {}) => {
    lookups.push(key);
    const text = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], catalogue);
    return String(text).replace(/__(\w+)__/g, (_m, name: string) => String(values[name]));
  };
  return { _ } as unknown as NodeAPI;
}

describe('statusTemplate', () => {
  it('looks the text up once and fills in each message’s values', () => {
    const lookups: string[] = [];
    const sent = statusTemplate(redFor('en-US', lookups), 'ilink-send.status.sent', ['count', 'to']);
    expect(sent({ count: 1, to: 'alice@im.wechat' })).toBe('sent 1 to alice@im.wechat');
    expect(sent({ count: 3, to: 'bob@im.wechat' })).toBe('sent 3 to bob@im.wechat');
    expect(lookups).toEqual(['ilink-send.status.sent']);
  });

  it('keeps the translation’s word order (zh-CN)', () => {
    const sent = statusTemplate(redFor('zh-CN', []), 'ilink-send.status.sent', ['count', 'to']);
    expect(sent({ count: 2, to: 'alice@im.wechat' })).toBe('已发送 2 条给 alice@im.wechat');
  });

  it('inserts values literally, even ones that look like placeholders', () => {
    const sent = statusTemplate(redFor('en-US', []), 'ilink-send.status.sent', ['count', 'to']);
    expect(sent({ count: '\u00001\u0000', to: '$& __to__' })).toBe('sent \u00001\u0000 to $& __to__');
  });
});
