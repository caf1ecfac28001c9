import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostProcess, spawnHost, tailOf, waitUntil } from './host-process';
import { N8nInstance, n8nBin, n8nProcessEnv, removeCrashJournal, startN8n } from './n8n';
import { node24 } from './node-binaries';
import { outputDir } from './output';
import { killedWithParent } from './parent-death';
import { freePorts } from './ports';
import { PostgresInstance, startPostgres } from './postgres';
import { RedisInstance, startRedis } from './redis';

export interface StartN8nQueueOptions {
  /** Folders n8n scans for *.node.js / *.credentials.js (main and every worker). */
  customExtensionDirs: string[];
  /** Workers started with the stack; default 1 (0 is allowed: executions then wait in Redis). */
  workers?: number;
  /** Extra or overriding environment for main and workers. */
  env?: Record<string, string>;
  /** Prefix of the output folders; default `n8n-queue`. */
  name?: string;
  startTimeoutMs?: number;
}

export interface N8nWorker {
  /** 1, 2, … in the order the stack created them. */
  readonly index: number;
  /** The worker's own server (QUEUE_HEALTH_CHECK_PORT): /healthz, /healthz/readiness. */
  readonly healthUrl: string;
  readonly logFile: string;
  /** pid of the current process (changes on start()). */
  readonly pid: number;
  isRunning(): boolean;
  /** Starts the worker again (after kill() or stop()) with the same folder and ports; waits until it takes jobs. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL to the worker's process group (worker + its task runner): a crash. */
  kill(): Promise<void>;
  /** Ids of the executions this worker has started, from its log (all its runs). */
  executionIds(): string[];
  logText(): string;
}

export interface N8nQueueStack {
  /**
   * The main instance (UI, REST, public API, webhooks, triggers): the same helpers as
   * startN8n. `main.kill()` + `main.restart()` is a crash and restart on the same database.
   */
  readonly main: N8nInstance;
  readonly workers: N8nWorker[];
  readonly postgres: PostgresInstance;
  readonly redis: RedisInstance;
  /** N8N_ENCRYPTION_KEY shared by main and workers (credentials decrypt on any of them). */
  readonly encryptionKey: string;
  /** How long the start took, per part (ms): Postgres + Redis (in parallel), main (owner + API key), each worker. */
  readonly startupMs: { postgresAndRedis: number; main: number; workers: number[] };
  /** Starts one more worker and waits until it takes jobs. */
  addWorker(): Promise<N8nWorker>;
  /** The worker whose log says it started that execution; undefined if none did (e.g. main ran it). */
  workerThatRan(executionId: string): N8nWorker | undefined;
  /** Every log file with its last lines: for a failing test's message. */
  logTails(lines?: number): string;
  /** Workers, main, Redis, Postgres, in that order; safe to call after a failed start. */
  stop(): Promise<void>;
}

/** "Worker started execution 12 (job 7)", logged by n8n's job processor at info level. */
const STARTED_EXECUTION = /Worker started execution (\d+) \(job /g;

/** n8n main + workers in queue mode over a throwaway Postgres and Redis. */
export async function startN8nQueue(options: StartN8nQueueOptions): Promise<N8nQueueStack> {
  const name = options.name ?? 'n8n-queue';
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const encryptionKey = crypto.randomBytes(24).toString('base64url');
  const workers: N8nWorker[] = [];
  let main: N8nInstance | undefined;
  let postgres: PostgresInstance | undefined;
  let redis: RedisInstance | undefined;

  async function stopAll(): Promise<void> {
    // Workers and main first: Postgres's fast shutdown would otherwise cut their connections mid-query.
    await Promise.all(workers.map((w) => w.stop()));
    await main?.stop();
    await Promise.all([redis?.stop(), postgres?.stop()]);
  }

  const startupMs = { postgresAndRedis: 0, main: 0, workers: [] as number[] };
  let t0 = Date.now();

  try {
    [postgres, redis] = await Promise.all([startPostgres({ name: `${name}-postgres` }), startRedis({ name: `${name}-redis` })]);
    const queueEnv: Record<string, string> = {
      DB_TYPE: 'postgresdb',
      DB_POSTGRESDB_HOST: postgres.host,
      DB_POSTGRESDB_PORT: String(postgres.port),
      DB_POSTGRESDB_DATABASE: postgres.database,
      DB_POSTGRESDB_USER: postgres.user,
      // Trust authentication: n8n wants some password, Postgres ignores it.
      DB_POSTGRESDB_PASSWORD: 'harness',
      EXECUTIONS_MODE: 'queue',
      QUEUE_BULL_REDIS_HOST: redis.host,
      QUEUE_BULL_REDIS_PORT: String(redis.port),
      N8N_ENCRYPTION_KEY: encryptionKey,
      // Queue mode cannot use filesystem binary data (each process has its own folder);
      // 2.41.1 already defaults to `database` in queue mode: say so, so nobody changes it by accident.
      N8N_DEFAULT_BINARY_DATA_MODE: 'database',
      ...options.env,
    };
    startupMs.postgresAndRedis = Date.now() - t0;
    t0 = Date.now();
    main = await startN8n({
      customExtensionDirs: options.customExtensionDirs,
      env: queueEnv,
      name: `${name}-main`,
      startTimeoutMs,
      // A test's SIGKILL is no reason for n8n's 10 s pause at the next start.
      skipCrashSleep: true,
      killedWithJest: true,
    });
    startupMs.main = Date.now() - t0;
    const mainInstance = main;

    const createWorker = async (): Promise<N8nWorker> => {
      const index = workers.length + 1;
      const runDir = outputDir(`${name}-worker-${index}`);
      const userFolder = path.join(runDir, 'user');
      fs.mkdirSync(userFolder, { recursive: true });
      const logFile = path.join(runDir, 'n8n-worker.log');
      const [brokerPort, healthPort] = await freePorts(2);
      const healthUrl = `http://127.0.0.1:${healthPort}`;
      const env = n8nProcessEnv(
        // N8N_PORT is main's: a worker serves nothing there, but WEBHOOK_URL (from it) must name main.
        { userFolder, port: mainInstance.port, brokerPort, customExtensionDirs: options.customExtensionDirs },
        {
          ...queueEnv,
          QUEUE_HEALTH_CHECK_ACTIVE: 'true',
          QUEUE_HEALTH_CHECK_PORT: String(healthPort),
          N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
        },
      );
      let host: HostProcess | undefined;
      const worker: N8nWorker = {
        index,
        healthUrl,
        logFile,
        get pid() {
          return host?.pid ?? 0;
        },
        isRunning: () => host?.isRunning() ?? false,
        async start() {
          if (host?.isRunning()) throw new Error(`n8n worker ${index} is already running (pid ${host.pid})`);
          removeCrashJournal(userFolder);
          const [command, args] = killedWithParent(node24(), [n8nBin(), 'worker']);
          host = spawnHost({ command, args, cwd: runDir, env, logFile });
          const started = host;
          // /healthz answers as soon as the worker's server listens; /healthz/readiness only
          // once it is subscribed to the queue (and Postgres and Redis are connected).
          await waitUntil(`n8n worker ${index} readiness`, async () => (await fetch(`${healthUrl}/healthz/readiness`)).ok, started, startTimeoutMs, 500);
        },
        async stop() {
          await host?.stop(15_000);
        },
        async kill() {
          await host?.kill();
        },
        executionIds: () => [...worker.logText().matchAll(STARTED_EXECUTION)].map((m) => m[1]),
        logText: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
      };
      workers.push(worker);
      await worker.start();
      return worker;
    };

    // In turn, so that each startupMs.workers entry is that worker's own boot.
    for (let i = 0; i < (options.workers ?? 1); i++) {
      t0 = Date.now();
      await createWorker();
      startupMs.workers.push(Date.now() - t0);
    }

    const [db, queue] = [postgres, redis];
    const stack: N8nQueueStack = {
      main: mainInstance,
      workers,
      postgres,
      redis,
      encryptionKey,
      startupMs,
      addWorker: createWorker,
      workerThatRan: (executionId) => workers.find((w) => w.executionIds().includes(String(executionId))),
      logTails(lines = 15) {
        const logs = [
          [mainInstance.logFile, mainInstance.logText()],
          ...workers.map((w) => [w.logFile, w.logText()]),
          [queue.logFile, queue.logText()],
          [db.logFile, db.logText()],
        ];
        return logs.map(([file, text]) => `--- ${file}\n${tailOf(text, lines)}`).join('\n');
      },
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
