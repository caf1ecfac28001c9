/** Where the demo finds the project and the programs it starts. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root: compiled to dist/scripts/demo/, so three levels up (two from the sources). */
export const projectRoot = findRoot(__dirname);

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'n8n-nodes-wechat-ilink') return dir;
    if (path.dirname(dir) === dir) throw new Error(`package root not found above ${start}`);
  }
}

/**
 * Node 24 from the project's `node` devDependency: Node-RED 5 needs >= 22.9
 * and n8n 2.x needs 24, whatever `node` the shell happens to have.
 */
export function node24(): string {
  const bin = path.join(projectRoot, 'node_modules', 'node', 'bin', 'node');
  return fs.existsSync(bin) ? bin : process.execPath;
}

export const nodeRedJs = path.join(projectRoot, 'node_modules', 'node-red', 'red.js');
export const n8nBin = path.join(projectRoot, '.hosts', 'n8n', 'node_modules', 'n8n', 'bin', 'n8n');
