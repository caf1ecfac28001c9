/**
 * A download reads only from the CDN. A message's full_url is fetched as given
 * (§7), and a flow can feed the download any item (an n8n webhook's body), so
 * a full_url elsewhere is refused before any request, and a redirect from the
 * CDN is not followed. "Elsewhere" is a second server on 127.0.0.1 that
 * records every request it gets: it must get none.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, interceptors, MockAgent, type Dispatcher } from 'undici';
import { ILinkClient } from '../../../shared/client';
import { downloadMedia, MediaError } from '../../../shared/media';
import type { Item } from '../../../shared/model';
import { bytes, friendlyItem, rejection, startHarness, type Harness } from './helpers';

const SECRET = Buffer.from('{"AccessKeyId":"internal-only"}');
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), bytes(200)]);

interface Recorder {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** An HTTP server on its own port that records each request and answers with `answer` (default: 200 SECRET). */
async function recordingServer(answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end(SECRET)): Promise<Recorder> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const imageAt = (fullUrl: string): Item => ({ type: 'image', wireType: 2, image: { media: { fullUrl } } });

let h: Harness;
let elsewhere: Recorder;
beforeEach(async () => {
  h = await startHarness({ strict: true });
  elsewhere = await recordingServer();
});
afterEach(async () => {
  await h.close();
  await elsewhere.close();
});

describe('a full_url that is not on the CDN is refused, and never requested', () => {
  it('on another port of the same host: an unkeyed image (which would come back as plain bytes) and a keyed file', async () => {
    const cdnOrigin = new URL(h.cdnBaseUrl).origin;
    const file = friendlyItem(await h.cdn.encryptAndStore(bytes(100), { kind: 'file', fileName: 'a.bin' }));
    file.file!.media!.fullUrl = `${elsewhere.url}/c2c/download?encrypted_query_param=x`;
    for (const item of [imageAt(`${elsewhere.url}/latest/meta-data/iam/security-credentials/`), file]) {
      const error = await rejection(downloadMedia({ cdnBaseUrl: h.cdnBaseUrl }, item));
      expect(error).toBeInstanceOf(MediaError);
      expect(error.kind).toBe('not_on_cdn');
      expect(error.message).toBe(
        `the download URL (full_url) is not on the CDN: it points to ${elsewhere.url}, and media is only downloaded from ${cdnOrigin} or https://novac2c.cdn.weixin.qq.com; ` +
          'pass the message on unchanged from the WeChat trigger or ilink-in node, or, if your iLink server really uses another CDN host, set it as the CDN base URL in the credential or config node',
      );
    }
    // The client (what both hosts call) checks against its own configured CDN base.
    const client = new ILinkClient({ token: 'test-token-123456', baseUrl: h.apiBaseUrl, cdnBaseUrl: h.cdnBaseUrl });
    expect(await rejection(client.downloadMedia({ items: [imageAt(`${elsewhere.url}/admin`)] } as never))).toMatchObject({ kind: 'not_on_cdn' });
    expect(elsewhere.hits).toEqual([]);
    expect(h.cdn.requests).toEqual([]);
  });

  it('the same full_url on the CDN origin still downloads', async () => {
    const file = friendlyItem(await h.cdn.encryptAndStore(bytes(100), { kind: 'file', fileName: 'a.bin' }));
    const param = file.file!.media!.encryptQueryParam!;
    file.file!.media = { ...file.file!.media, encryptQueryParam: 'not-this-one', fullUrl: `${h.cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(param)}` };
    expect((await downloadMedia({ cdnBaseUrl: h.cdnBaseUrl }, file)).data.equals(bytes(100))).toBe(true);
    // The userinfo trick: "the CDN" before the @ is a user name, the host is the other server.
    const trick = `http://${new URL(h.cdnBaseUrl).host}@${new URL(elsewhere.url).host}/c2c/download?encrypted_query_param=${encodeURIComponent(param)}`;
    expect(new URL(trick).origin).toBe(elsewhere.url);
    const error = await rejection(downloadMedia({ cdnBaseUrl: h.cdnBaseUrl }, { ...file, file: { ...file.file, media: { ...file.file!.media, fullUrl: trick } } }));
    expect(error).toMatchObject({ kind: 'not_on_cdn' });
    expect(error.message).toMatch(new RegExp(`^the download URL \\(full_url\\) is not on the CDN: it points to ${elsewhere.url}, `));
    expect(elsewhere.hits).toEqual([]);
  });
});

describe('which origins pass: compared as new URL() parses them, never as strings', () => {
  const BASE = 'https://cdn.example.test/c2c';
  /** Origins the dispatcher was asked to reach; a MockAgent that answers PNG on the two allowed origins, nothing else. */
  function recordingDispatcher(): { dispatcher: Dispatcher; reached: string[]; close(): Promise<void> } {
    const reached: string[] = [];
    const mock = new MockAgent();
    mock.disableNetConnect();
    for (const origin of ['https://cdn.example.test', 'https://novac2c.cdn.weixin.qq.com']) {
      mock.get(origin).intercept({ path: () => true, method: 'GET' }).reply(200, PNG).persist();
    }
    const dispatcher = mock.compose((dispatch) => (options, handler) => {
      reached.push(String(options.origin));
      return dispatch(options, handler);
    });
    return { dispatcher, reached, close: () => mock.close() };
  }

  it.each([
    ['the userinfo trick', 'https://cdn.example.test@evil.example/c2c/download', /it points to https:\/\/evil\.example,/],
    ['a longer host that starts with the CDN host', 'https://cdn.example.test.evil.example/c2c/download', /it points to https:\/\/cdn\.example\.test\.evil\.example,/],
    ['the CDN host with a trailing dot', 'https://cdn.example.test./c2c/download', /it points to https:\/\/cdn\.example\.test\.,/],
    ['another port of the CDN host', 'https://cdn.example.test:8443/c2c/download', /it points to https:\/\/cdn\.example\.test:8443,/],
    ['plain http to the https CDN', 'http://cdn.example.test/c2c/download', /it points to http:\/\/cdn\.example\.test,/],
    ['a user name on the right host', 'https://probe:x@cdn.example.test/c2c/download', /it carries a user name,/],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/', /it points to http:\/\/169\.254\.169\.254,/],
    ['an IPv6 loopback literal', 'http://[::1]:2375/containers/json', /it points to http:\/\/\[::1\]:2375,/],
    ['the official host with a longer name', 'https://novac2c.cdn.weixin.qq.com.evil.example/c2c/download', /it points to https:\/\/novac2c\.cdn\.weixin\.qq\.com\.evil\.example,/],
    ['a file URL', 'file:///etc/passwd', /it is a file: URL,/],
    ['an ftp URL', 'ftp://cdn.example.test/c2c/download', /it is a ftp: URL,/],
    ['a relative URL', '//evil.example/c2c/download', /it is not a URL,/],
  ])('refused: %s', async (_name, fullUrl, reason) => {
    const { dispatcher, reached, close } = recordingDispatcher();
    try {
      const error = await rejection(downloadMedia({ cdnBaseUrl: BASE, dispatcher }, imageAt(fullUrl)));
      expect(error).toMatchObject({ name: 'MediaError', kind: 'not_on_cdn' });
      expect(error.message).toMatch(reason);
      expect(error.message).toContain('media is only downloaded from https://cdn.example.test or https://novac2c.cdn.weixin.qq.com;');
      expect(reached).toEqual([]);
    } finally {
      await close();
    }
  });

  it.each([
    ['upper case and the default port', 'HTTPS://CDN.Example.TEST:443/c2c/download?encrypted_query_param=p', 'https://cdn.example.test'],
    // The server writes full_url; with a custom CDN base set it may still name the official CDN (sheet §0).
    ['the official CDN while another base is configured', 'https://novac2c.cdn.weixin.qq.com/c2c/download?encrypted_query_param=p', 'https://novac2c.cdn.weixin.qq.com'],
  ])('allowed: %s', async (_name, fullUrl, origin) => {
    const { dispatcher, reached, close } = recordingDispatcher();
    try {
      expect((await downloadMedia({ cdnBaseUrl: BASE, dispatcher }, imageAt(fullUrl))).data.equals(PNG)).toBe(true);
      expect(reached).toEqual([origin]);
      // Refused in the same setup, so this is the check at work and not a lenient mock.
      expect(await rejection(downloadMedia({ cdnBaseUrl: BASE, dispatcher }, imageAt('https://evil.example/x')))).toMatchObject({ kind: 'not_on_cdn' });
      expect(reached).toEqual([origin]);
    } finally {
      await close();
    }
  });
});

describe('a redirect from the CDN is not followed', () => {
  let cdn: Recorder;
  beforeEach(async () => {
    // A CDN (the configured base) whose every download answers 302 to the other server.
    cdn = await recordingServer((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/latest/meta-data/` });
      res.end('moved');
    });
  });
  afterEach(async () => {
    await cdn.close();
  });

  const message = () =>
    `the CDN answered HTTP 302, a redirect to ${elsewhere.url}, which is not followed (media is only downloaded from the CDN itself); ` +
    'check the CDN base URL in the credential or config node, or try again later';

  it('with undici defaults: a typed error that names the redirect', async () => {
    const item: Item = { type: 'image', wireType: 2, image: { media: { encryptQueryParam: 'p' } } };
    const error = await rejection(downloadMedia({ cdnBaseUrl: `${cdn.url}/c2c` }, item));
    expect(error).toMatchObject({ name: 'MediaError', kind: 'cdn_status', status: 302, message: message() });
    expect(cdn.hits).toEqual(['GET /c2c/download?encrypted_query_param=p']);
    expect(elsewhere.hits).toEqual([]);
  });

  it('even through a dispatcher that follows redirects (undici redirect interceptor)', async () => {
    const agent = new Agent();
    const following = agent.compose(interceptors.redirect({ maxRedirections: 3 }));
    try {
      const error = await rejection(downloadMedia({ cdnBaseUrl: `${cdn.url}/c2c`, dispatcher: following }, imageAt(`${cdn.url}/c2c/download?encrypted_query_param=p`)));
      expect(error).toMatchObject({ name: 'MediaError', kind: 'cdn_status', status: 302, message: message() });
      expect(elsewhere.hits).toEqual([]);
    } finally {
      await agent.close();
    }
  });
});
