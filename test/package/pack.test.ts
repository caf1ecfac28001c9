/**
 * The package as users get it: `npm pack`, then what is (and is not) in the
 * tarball; `npm install <tarball>` into a fresh Node-RED user directory, a real
 * Node-RED there (no nodesDir: found in userDir/node_modules, as after a
 * palette install) registering every node type; every file the `n8n` block
 * names exists and loads into a node or credential class; the bin runs.
 * Needs the build (npm test builds first) and the npm registry or cache.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { node24 } from '../harness/node-binaries';
import { startNodeRed, type NodeRedInstance } from '../harness/node-red';
import { outputDir, projectRoot } from '../harness/output';

jest.setTimeout(240_000);

const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
const nodeRedTypes = Object.keys(manifest['node-red'].nodes as Record<string, string>);
const n8nFiles: string[] = [...manifest.n8n.credentials, ...manifest.n8n.nodes];
/** The Node-RED example flows of the repository, e.g. "01 - Echo bot.json". */
const exampleFiles = fs.readdirSync(path.join(projectRoot, 'examples')).sort();
/** The npm on PATH (any modern npm packs and installs the same way). */
function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

let work: string;
let tarball: string;
let entries: string[];
let installed: string;
let nodeRed: NodeRedInstance | undefined;

beforeAll(() => {
  work = outputDir('pack');
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], projectRoot)) as Array<{ filename: string; size: number }>;
  tarball = path.join(work, path.basename(packed[0]!.filename));
  entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((entry) => entry.replace(/^package\//, ''));
});

afterAll(async () => {
  await nodeRed?.stop();
});

test('the tarball holds what both hosts need', () => {
  const mustHave = [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    manifest.main as string,
    manifest.types as string,
    manifest.bin['n8n-nodes-wechat-ilink'] as string,
    // Node-RED: each node's JS and editor HTML, both locales, the icon, the example flows.
    ...Object.values(manifest['node-red'].nodes as Record<string, string>),
    ...nodeRedTypes.map((type) => `dist/node-red/${type}.html`),
    ...nodeRedTypes.flatMap((type) => ['en-US', 'zh-CN'].flatMap((lang) => [`dist/node-red/locales/${lang}/${type}.json`, `dist/node-red/locales/${lang}/${type}.html`])),
    'dist/node-red/icons/ilink.svg',
    ...exampleFiles.map((file) => `examples/${file}`),
    // n8n: the block's files, codex files and light/dark icons.
    ...n8nFiles,
    'dist/nodes/WeChatIlink/WeChatIlink.node.json',
    'dist/nodes/WeChatIlinkTrigger/WeChatIlinkTrigger.node.json',
    'dist/nodes/WeChatIlink/wechatIlink.svg',
    'dist/nodes/WeChatIlink/wechatIlink.dark.svg',
    'dist/credentials/wechatIlink.svg',
  ];
  expect(mustHave.filter((file) => !entries.includes(file))).toEqual([]);

  const mustNot: Array<[string, RegExp]> = [
    ['TypeScript sources', /(?<!\.d)\.ts$/],
    ['source maps', /\.map$/],
    ['tests', /^test\/|^dist\/test\//],
    ['the simulator (only the demo uses it)', /simulator\//],
    ['the demo and bench scripts, the core example', /^dist\/(scripts|bench|examples|docs)\/|^scripts\/|^bench\/|^docs\//],
    ['n8n workflows (Node-RED would list them as examples)', /^n8n-workflows\/|^examples\/n8n\//],
    ['anything in examples/ but Node-RED flows (Node-RED lists each folder)', /^examples\/(?![^/]+\.json$)/],
    ['node_modules and host installs', /node_modules\/|^\.hosts\//],
  ];
  for (const [what, pattern] of mustNot) {
    expect({ what, found: entries.filter((entry) => pattern.test(entry)) }).toEqual({ what, found: [] });
  }
});

test('npm install <tarball> into a Node-RED user directory: every node type registers', async () => {
  const userDir = path.join(work, 'node-red-user');
  fs.mkdirSync(userDir, { recursive: true });
  // What Node-RED itself writes into a new userDir.
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }));
  npm(['install', '--prefer-offline', '--no-save', tarball], userDir);
  installed = path.join(userDir, 'node_modules', manifest.name);
  expect(fs.existsSync(path.join(installed, 'package.json'))).toBe(true);

  nodeRed = await startNodeRed({ userDir, name: 'pack-node-red' });
  const sets = (await nodeRed.nodes()).filter((set) => set.module === manifest.name);
  expect(sets.flatMap((set) => set.types).sort()).toEqual([...nodeRedTypes].sort());
  expect(sets.filter((set) => !set.enabled || set.err)).toEqual([]);
  // Import → Examples → <package> lists the flows themselves, by file name, and no folder.
  const listed = await nodeRed.request<Array<string | { fn: string }>>('GET', `/library/examples/flows/${manifest.name}`);
  const names = listed.map((entry) => (typeof entry === 'string' ? `folder ${entry}` : entry.fn)).sort();
  expect(names).toEqual(exampleFiles.map((file) => file.replace(/\.json$/, '')));
});

test('every file of the n8n block exists in the tarball and loads into a class with a description', () => {
  expect(installed).toBeDefined();
  // n8n-workflow is an optional peer dependency (n8n brings its own): take the project's copy.
  const script = `
    const files = ${JSON.stringify(n8nFiles)};
    const out = files.map((file) => {
      const exported = require(require('path').join(${JSON.stringify(installed)}, file));
      const classes = Object.values(exported).filter((value) => typeof value === 'function');
      return classes.map((Cls) => {
        const instance = new Cls();
        const d = instance.description;
        return d ? { file, kind: 'node', name: d.name, displayName: d.displayName, properties: d.properties.length }
                 : { file, kind: 'credential', name: instance.name, displayName: instance.displayName, properties: (instance.properties || []).length };
      });
    });
    process.stdout.write(JSON.stringify(out.flat()));`;
  const loaded = JSON.parse(
    execFileSync(node24(), ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(projectRoot, 'node_modules') } }),
  ) as Array<{ file: string; kind: string; name: string; displayName: string; properties: number }>;
  expect(loaded.map((entry) => entry.file).sort()).toEqual([...n8nFiles].sort());
  for (const entry of loaded) {
    expect(entry.name).toMatch(/\S/);
    expect(entry.displayName).toMatch(/WeChat iLink/);
    expect(entry.properties).toBeGreaterThan(0);
  }
  expect(loaded.filter((entry) => entry.kind === 'credential').map((entry) => entry.file)).toEqual(manifest.n8n.credentials);
});

test("the package's API is the core's curated index: internals cannot be imported, the n8n and Node-RED files still load by path", () => {
  expect(installed).toBeDefined();
  const userDir = path.dirname(path.dirname(installed));
  const script = `
    const core = require(${JSON.stringify(manifest.name)});
    let deep;
    try { require(${JSON.stringify(`${manifest.name}/dist/shared/store`)}); deep = 'loaded'; } catch (error) { deep = error.code; }
    process.stdout.write(JSON.stringify({
      client: typeof core.ILinkClient, error: typeof core.ILinkError, login: typeof core.LoginSession,
      internals: ['applyChanges', 'ManualClock', 'redactSecrets', 'isPollerClaimed', 'IlinkError', 'encryptAesEcb'].filter((name) => name in core),
      deep,
    }));`;
  const answer = JSON.parse(execFileSync(node24(), ['-e', script], { encoding: 'utf8', cwd: userDir, env: { ...process.env, NODE_PATH: path.join(projectRoot, 'node_modules') } }));
  expect(answer).toEqual({ client: 'function', error: 'function', login: 'function', internals: [], deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

test('the bin works from the installed tarball', () => {
  const bin = path.join(path.dirname(installed), '.bin', 'n8n-nodes-wechat-ilink');
  expect(fs.existsSync(bin)).toBe(true);
  const help = execFileSync(bin, ['--help'], { encoding: 'utf8', env: { ...process.env, PATH: `${path.dirname(node24())}:${process.env.PATH}` } });
  expect(help).toMatch(/Usage: npx n8n-nodes-wechat-ilink login/);
});
