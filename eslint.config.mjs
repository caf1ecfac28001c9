// n8n's community-node lint (`npm run lint`), in its non-cloud form: n8n Cloud
// only verifies nodes without runtime dependencies, and this pack needs undici,
// qrcode and silk-wasm (and the file system for media spooling and state).
// Only the n8n layer is linted here: the core (shared/) is host-agnostic by
// design (no NodeApiError there) and, like the rest, has its own strict tsc and tests.
import { globalIgnores } from 'eslint/config';
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
  globalIgnores(['.hosts', '.test-output', 'test', 'simulator', 'scripts', 'bench', 'bin', 'examples', 'n8n-workflows', 'node-red', 'shared', 'docs', 'coverage', '*.js']),
  ...configWithoutCloudSupport,
  {
    // The one rule we do not follow: the pack has three small runtime
    // dependencies (undici, qrcode, silk-wasm) that the same package also
    // needs in Node-RED, where bundling them would only make installs larger.
    files: ['package.json'],
    rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
  },
];
