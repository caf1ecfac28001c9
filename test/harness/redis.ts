import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { HostProcess, spawnHost, waitUntil } from './host-process';
import { outputDir } from './output';
import { killedWithParent } from './parent-death';
import { freePort } from './ports';

export interface StartRedisOptions {
  /** Names the output folder; default `redis`. */
  name?: string;
  startTimeoutMs?: number;
}

export interface RedisInstance {
  readonly host: string;
  readonly port: number;
  readonly logFile: string;
  readonly pid: number;
  isRunning(): boolean;
  logText(): string;
  /** Sends one inline command (e.g. `PING`, `DBSIZE`) and returns Redis's raw first reply line. */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

function redisBin(): string {
  const found = (process.env.PATH ?? '')
    .split(':')
    .concat('/usr/bin', '/usr/sbin')
    .map((dir) => path.join(dir, 'redis-server'))
    .find((candidate) => fs.existsSync(candidate));
  if (!found) throw new Error(`redis-server is not installed: run 'bash scripts/hosts/install-queue-mode.sh'.`);
  return found;
}

/** One inline command over a fresh connection (Redis's protocol accepts plain text lines). */
function sendCommand(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error(`redis on ${port}: no answer to ${line}`)));
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        socket.end();
        resolve(reply.slice(0, end));
      }
    });
    socket.write(`${line}\r\n`);
  });
}

/** A throwaway Redis on a free 127.0.0.1 port: nothing saved to disk, logs in .test-output/. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisInstance> {
  const bin = redisBin();
  const dir = outputDir(options.name ?? 'redis');
  const logFile = path.join(dir, 'redis.log');
  const port = await freePort();
  // In the foreground (not --daemonize): host-process.ts owns it, and it ends with jest.
  const [command, args] = killedWithParent(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
  const host: HostProcess = spawnHost({ command, args, env: { PATH: process.env.PATH }, cwd: dir, logFile });
  try {
    await waitUntil('redis readiness', async () => (await sendCommand(port, 'PING')) === '+PONG', host, options.startTimeoutMs ?? 10_000, 100);
  } catch (err) {
    await host.stop(1_000);
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    logFile,
    pid: host.pid,
    isRunning: () => host.isRunning(),
    logText: () => host.logText(),
    command: (line) => sendCommand(port, line),
    async stop() {
      // SIGTERM: Redis exits at once (nothing to save with --save '').
      await host.stop(5_000);
    },
  };
}
