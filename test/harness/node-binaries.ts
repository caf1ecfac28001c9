import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostsRoot, projectRoot } from './output';

/**
 * Node binaries for the hosts. We never rely on the PATH: jest may run under
 * whatever `node` the shell has, but n8n 2.x and Node-RED 5 need Node >= 24
 * (the project's `node` devDependency), and Node-RED 4 runs on Node 20
 * (installed beside it by scripts/hosts/install-node-red-4.sh).
 */
export function node24(): string {
  const bin = path.join(projectRoot, 'node_modules', 'node', 'bin', 'node');
  if (!fs.existsSync(bin)) {
    throw new Error(`Node 24 not found at ${bin}: run 'npm ci' in ${projectRoot} (the 'node' devDependency provides it).`);
  }
  return bin;
}

export function node20ForNodeRed4(): string {
  const bin = path.join(hostsRoot, 'node-red-4', 'node_modules', 'node', 'bin', 'node');
  if (!fs.existsSync(bin)) {
    throw new Error(`Node 20 for Node-RED 4 not found at ${bin}: run 'bash scripts/hosts/install-node-red-4.sh'.`);
  }
  return bin;
}
