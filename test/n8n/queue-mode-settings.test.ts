/**
 * Queue mode reads n8n's own Redis settings (QUEUE_BULL_REDIS_*, with n8n's
 * defaults and its `_FILE` variants), and outside queue mode the package never
 * loads ioredis.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isQueueMode, queueRedisSettings } from '../../nodes/common/queue-mode';
import { projectRoot } from '../harness/output';

test('n8n defaults: localhost:6379, db 0, no password, no TLS, no cluster', () => {
  const { clusterNodes, options } = queueRedisSettings({});
  expect(clusterNodes).toEqual([]);
  expect(options).toMatchObject({ host: 'localhost', port: 6379, db: 0, username: undefined, password: undefined, family: 4, maxRetriesPerRequest: null });
  expect(options.tls).toBeUndefined();
});

test('every setting, the password from a _FILE (trimmed), TLS and dual stack', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-settings-'));
  const secret = path.join(dir, 'password');
  fs.writeFileSync(secret, 's3cret\n');
  const { options } = queueRedisSettings({
    QUEUE_BULL_REDIS_HOST: 'redis.internal',
    QUEUE_BULL_REDIS_PORT: '6380',
    QUEUE_BULL_REDIS_DB: '2',
    QUEUE_BULL_REDIS_USERNAME: 'n8n',
    QUEUE_BULL_REDIS_PASSWORD_FILE: secret,
    QUEUE_BULL_REDIS_TLS: 'true',
    QUEUE_BULL_REDIS_TLS_SERVERNAME: 'redis.example',
    QUEUE_BULL_REDIS_TLS_VALIDATE_CERTIFICATE: 'false',
    QUEUE_BULL_REDIS_DUALSTACK: 'true',
  });
  expect(options).toMatchObject({ host: 'redis.internal', port: 6380, db: 2, username: 'n8n', password: 's3cret', family: 0 });
  expect(options.tls).toEqual({ servername: 'redis.example', rejectUnauthorized: false });
});

test('cluster nodes are host:port pairs; a malformed one is named', () => {
  expect(queueRedisSettings({ QUEUE_BULL_REDIS_CLUSTER_NODES: 'a:7000, b:7001' }).clusterNodes).toEqual([
    { host: 'a', port: 7000 },
    { host: 'b', port: 7001 },
  ]);
  expect(() => queueRedisSettings({ QUEUE_BULL_REDIS_CLUSTER_NODES: 'a:7000,b' })).toThrow('QUEUE_BULL_REDIS_CLUSTER_NODES lists "b": write each node as host:port');
  expect(() => queueRedisSettings({ QUEUE_BULL_REDIS_PORT: 'six' })).toThrow('QUEUE_BULL_REDIS_PORT must be a whole number, got "six"');
});

test('queue mode is EXECUTIONS_MODE=queue only', () => {
  expect(isQueueMode({ EXECUTIONS_MODE: 'queue' })).toBe(true);
  expect(isQueueMode({ EXECUTIONS_MODE: 'regular' })).toBe(false);
  expect(isQueueMode({})).toBe(false);
});

test('outside queue mode, loading the nodes and running an operation does not load ioredis (built package)', () => {
  const script = `
    const Module = require('node:module');
    const load = Module._load;
    let loaded = false;
    Module._load = function (request, ...rest) { if (request === 'ioredis') loaded = true; return load.call(this, request, ...rest); };
    require('./dist/nodes/WeChatIlink/WeChatIlink.node.js');
    require('./dist/nodes/WeChatIlinkTrigger/WeChatIlinkTrigger.node.js');
    const { botStateFor } = require('./dist/nodes/common/bot-state.js');
    botStateFor('x@im.bot', 'token', { debug() {}, info() {}, warn() {}, error() {} }).then(() => {
      process.stdout.write(JSON.stringify({ loaded }));
    });
  `;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'no-ioredis-'));
  const run = spawnSync(process.execPath, ['-e', script], { cwd: projectRoot, encoding: 'utf8', env: { PATH: process.env.PATH, N8N_USER_FOLDER: dir } });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual({ loaded: false });
});
