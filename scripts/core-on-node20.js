#!/usr/bin/env node
/**
 * Runs the core's test suite (test/shared) under Node 20, the oldest Node our
 * users run (Node-RED 4 on Node 20.18+). The rest of the project runs on the
 * Node 24 that npm scripts get from the `node` devDependency.
 *
 * Node 20 is the machine's own Node when it has one (npm runs on it), else the
 * pinned Node 20 that scripts/hosts/install-node-red-4.sh installs.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function majorOf(bin) {
  try {
    return Number(execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.')[0]);
  } catch {
    return 0;
  }
}

function candidates() {
  const list = [process.env.npm_node_execpath, process.env.NODE20_BIN];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && !dir.includes('node_modules')) list.push(path.join(dir, 'node'));
  }
  list.push(path.join(root, '.hosts', 'node-red-4', 'node_modules', 'node', 'bin', 'node'));
  return [...new Set(list.filter((bin) => bin && existsSync(bin)))];
}

let node20 = candidates().find((bin) => majorOf(bin) === 20);
if (!node20) {
  console.log('core-on-node20: no Node 20 on this machine; installing the pinned one (scripts/hosts/install-node-red-4.sh)');
  execFileSync('bash', [path.join(root, 'scripts/hosts/install-node-red-4.sh')], { stdio: 'inherit' });
  node20 = candidates().find((bin) => majorOf(bin) === 20);
}
if (!node20) {
  console.error('core-on-node20: could not find or install Node 20');
  process.exit(1);
}
console.log(`core-on-node20: running test/shared under ${node20} (${execFileSync(node20, ['--version'], { encoding: 'utf8' }).trim()})`);
const result = spawnSync(node20, [path.join(root, 'node_modules/jest/bin/jest.js'), '--runInBand', 'test/shared', 'test/node20'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
