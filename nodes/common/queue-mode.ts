/**
 * n8n queue mode (EXECUTIONS_MODE=queue): the trigger runs on main and the
 * executions on workers, other processes, maybe other machines. The bot's
 * state must live where all of them see it: in the Redis that n8n itself
 * uses, reached with n8n's own QUEUE_BULL_REDIS_* settings, so there is
 * nothing new to configure. ioredis is loaded only here, only in queue mode.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import type { Logger, RedisCommands } from '../../shared';

export function isQueueMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.EXECUTIONS_MODE?.trim() === 'queue';
}

/** A setting as n8n reads it: the variable, or the content of the file `<name>_FILE` names (for secrets). */
function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`]?.trim();
  if (file) return readFileSync(file, 'utf8').trim();
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function numberSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}" (it is n8n's own Redis setting)`);
  return value;
}

export interface QueueRedisSettings {
  /** host:port pairs of a Redis Cluster (QUEUE_BULL_REDIS_CLUSTER_NODES), else one server. */
  clusterNodes: Array<{ host: string; port: number }>;
  options: RedisOptions;
}

/** The connection n8n's queue uses, from the same variables and defaults (n8n's "Configure queue mode" docs). */
export function queueRedisSettings(env: NodeJS.ProcessEnv = process.env): QueueRedisSettings {
  const tls = setting(env, 'QUEUE_BULL_REDIS_TLS') === 'true';
  const options: RedisOptions = {
    host: setting(env, 'QUEUE_BULL_REDIS_HOST') ?? 'localhost',
    port: numberSetting(env, 'QUEUE_BULL_REDIS_PORT', 6379),
    db: numberSetting(env, 'QUEUE_BULL_REDIS_DB', 0),
    username: setting(env, 'QUEUE_BULL_REDIS_USERNAME'),
    password: setting(env, 'QUEUE_BULL_REDIS_PASSWORD'),
    family: setting(env, 'QUEUE_BULL_REDIS_DUALSTACK') === 'true' ? 0 : 4,
    connectionName: 'n8n-nodes-wechat-ilink',
    // A write waits for Redis to come back rather than fail: no message is handed over before it is stored.
    maxRetriesPerRequest: null,
  };
  if (tls) {
    options.tls = {
      servername: setting(env, 'QUEUE_BULL_REDIS_TLS_SERVERNAME') || undefined,
      rejectUnauthorized: setting(env, 'QUEUE_BULL_REDIS_TLS_VALIDATE_CERTIFICATE') !== 'false',
    };
  }
  const clusterNodes = (setting(env, 'QUEUE_BULL_REDIS_CLUSTER_NODES') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(':');
      const port = Number(entry.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port)) throw new Error(`QUEUE_BULL_REDIS_CLUSTER_NODES lists "${entry}": write each node as host:port, separated by commas`);
      return { host: entry.slice(0, at), port };
    });
  return { clusterNodes, options };
}

// On globalThis so that two copies of this package loaded by n8n still share one connection.
const CONNECTION = Symbol.for('n8n-nodes-wechat-ilink.queue-redis');

/** This process's connection to n8n's Redis, opened on first use; connection trouble is logged to `logger` (the first user's). */
export function queueRedis(logger: Logger): RedisCommands {
  const holder = globalThis as Record<symbol, unknown>;
  const existing = holder[CONNECTION] as RedisCommands | undefined;
  if (existing) return existing;
  // Loaded here only: outside queue mode the package never requires ioredis.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ioredis = require('ioredis') as typeof import('ioredis');
  const { clusterNodes, options } = queueRedisSettings();
  // With a cluster, each node's address comes from the list (host and port in redisOptions are not used).
  const connection: RedisCommands =
    clusterNodes.length > 0 ? (new ioredis.Cluster(clusterNodes, { redisOptions: options, enableOfflineQueue: true } satisfies ClusterOptions) as Cluster) : new ioredis.Redis(options);
  // Commands wait while Redis is away (see maxRetriesPerRequest): say why the bot seems to stand still.
  let lastError = '';
  (connection as unknown as NodeJS.EventEmitter).on('error', (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn(`cannot reach n8n's Redis (the bot's state waits for it): ${error.message}`);
  });
  (connection as unknown as NodeJS.EventEmitter).on('ready', () => (lastError = ''));
  holder[CONNECTION] = connection;
  return connection;
}
