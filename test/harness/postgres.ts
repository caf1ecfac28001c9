import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { HostProcess, spawnHost, tailOf, waitUntil } from './host-process';
import { outputDir } from './output';
import { killedWithParent } from './parent-death';
import { freePort } from './ports';

const run = promisify(execFile);

export interface StartPostgresOptions {
  /** Names the output folder; default `postgres`. */
  name?: string;
  /** The database created for the caller; default `n8n`. */
  database?: string;
  startTimeoutMs?: number;
}

export interface PostgresInstance {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** The superuser initdb created; authentication is `trust` on 127.0.0.1. */
  readonly user: string;
  readonly logFile: string;
  readonly pid: number;
  isRunning(): boolean;
  logText(): string;
  /** Fast shutdown (SIGINT: clients are disconnected), SIGKILL after 10 s; removes the data folder, keeps the log. */
  stop(): Promise<void>;
}

/** Debian's newest installed Postgres server binaries (/usr/lib/postgresql/<major>/bin). */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
    : [];
  if (majors.length === 0) {
    throw new Error(`Postgres is not installed (no ${root}/<version>/bin/postgres): run 'bash scripts/hosts/install-queue-mode.sh'.`);
  }
  return path.join(root, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/**
 * initdb and postgres refuse to run as root: as root we run them as the
 * `postgres` system user (the Debian package creates it). Either way they end
 * with jest (see parent-death.ts); the group kill of host-process.ts still
 * reaches the postmaster and its backends.
 */
async function postgresUser(dir: string): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  fs.chownSync(dir, uid, gid);
  return { uid, gid };
}

/**
 * A throwaway Postgres cluster on a free 127.0.0.1 port. Its log goes under
 * .test-output/; its data folder is a fresh one in the system temp folder,
 * since the `postgres` user may not be able to reach into the checkout (a
 * clone in a private temp folder, as CI makes).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  const bin = postgresBinDir();
  const dir = outputDir(options.name ?? 'postgres');
  const clusterDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-ilink-pg-'));
  const dataDir = path.join(clusterDir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const user = 'n8n';
  const database = options.database ?? 'n8n';
  const systemUser = await postgresUser(clusterDir);
  const asPostgres = (command: string, args: string[]) => killedWithParent(command, args, systemUser);
  const env = { PATH: process.env.PATH, LANG: 'C.UTF-8', TZ: 'UTC' };

  const [initCommand, initArgs] = asPostgres(path.join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', user, '-E', 'UTF8', '--locale=C', '--no-sync']);
  try {
    const init = await run(initCommand, initArgs, { env, cwd: clusterDir });
    fs.appendFileSync(logFile, init.stdout + init.stderr);
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    fs.rmSync(clusterDir, { recursive: true, force: true });
    throw new Error(`initdb failed (${(err as Error).message.split('\n')[0]}):\n${stdout}${stderr}`);
  }

  const port = await freePort();
  const [command, args] = asPostgres(path.join(bin, 'postgres'), [
    '-D', dataDir,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    // No Unix socket: its path would be long under .test-output, and TCP is what n8n uses.
    '-c', 'unix_socket_directories=',
    // A throwaway cluster: durability buys nothing and costs time on a 2-core machine.
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
  ]);
  const host: HostProcess = spawnHost({ command, args, env, cwd: clusterDir, logFile });
  try {
    await waitUntil('postgres readiness', async () => /ready to accept connections/.test(host.logText()), host, options.startTimeoutMs ?? 30_000, 100);
    await run(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, database], { env }).catch((err: Error) => {
      throw new Error(`createdb ${database} failed: ${err.message}\nLog ${logFile}:\n${tailOf(host.logText())}`);
    });
  } catch (err) {
    await host.stop(2_000);
    fs.rmSync(clusterDir, { recursive: true, force: true });
    throw err;
  }

  return {
    host: '127.0.0.1',
    port,
    database,
    user,
    logFile,
    pid: host.pid,
    isRunning: () => host.isRunning(),
    logText: () => host.logText(),
    async stop() {
      if (host.isRunning()) {
        process.kill(host.pid, 'SIGINT');
        const timer = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
        await Promise.race([host.exited, timer]);
      }
      await host.stop(1_000);
      fs.rmSync(clusterDir, { recursive: true, force: true });
    },
  };
}
