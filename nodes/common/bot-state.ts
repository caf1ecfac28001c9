/**
 * One state per bot for the whole n8n instance: cursor, inbox, context tokens
 * and the quote cache, in a file store under n8n's user folder
 * (`<N8N_USER_FOLDER>/.n8n/wechat-ilink/<bot>.json`, with its journal); in
 * queue mode, in n8n's Redis, where main and every worker see it.
 *
 * Why not the workflow's static data: n8n saves a trigger's static data only
 * when it emits, but the core fetches the next messages while an execution
 * runs, and what the server handed out exists nowhere else (§10). The file
 * store writes each fetched answer before its messages are handed over.
 *
 * Every node in this process that uses the bot shares one BotState (two on
 * one file would interleave their journal lines).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BotState, FileStateStore, RedisStateStore, botKeyFor, normalizeSnapshot, safeAccountId, type BotStateSnapshot, type Logger, type StateChange } from '../../shared';
import { isQueueMode, queueRedis } from './queue-mode';

export function n8nStateDirectory(): string {
  return join(process.env.N8N_USER_FOLDER?.trim() || homedir(), '.n8n', 'wechat-ilink');
}

export function botStatePath(botId: string | undefined, token: string): string {
  return join(n8nStateDirectory(), `${safeAccountId(botKeyFor(botId, token))}.json`);
}

/**
 * The bot's state for this process: from the file (regular mode) or from
 * Redis (queue mode). In queue mode it is brought up to date with what other
 * processes wrote before it is returned.
 */
export async function botStateFor(botId: string | undefined, token: string, logger: Logger, legacy?: unknown): Promise<BotState> {
  const path = botStatePath(botId, token);
  if (!isQueueMode()) return sharedBotState(path, legacy);
  const botKey = botKeyFor(botId, token);
  let opening = queueStates.get(botKey);
  if (!opening) {
    // The first use in queue mode starts from the state file, if this n8n ran without queue mode before.
    const seed = (): BotStateSnapshot | undefined => new FileStateStore(path).load() ?? (legacy === undefined ? undefined : normalizeSnapshot(legacy));
    opening = RedisStateStore.open({ redis: queueRedis(logger), botKey, logger, seed }).then((store) => new BotState(store));
    queueStates.set(botKey, opening);
    opening.catch(() => queueStates.delete(botKey));
  }
  const state = await opening;
  await state.refresh();
  return state;
}

// On globalThis so that two copies of this package loaded by n8n still share the states.
const REGISTRY = Symbol.for('n8n-nodes-wechat-ilink.n8n-bot-states');
const states: Map<string, BotState> = ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<string, BotState> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new Map<string, BotState>());
const QUEUE_REGISTRY = Symbol.for('n8n-nodes-wechat-ilink.n8n-queue-bot-states');
const queueStates: Map<string, Promise<BotState>> = ((globalThis as Record<symbol, unknown>)[QUEUE_REGISTRY] as Map<string, Promise<BotState>> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[QUEUE_REGISTRY] = new Map<string, Promise<BotState>>());

/**
 * The bot's shared state. `legacy` is what an earlier version kept in the
 * trigger's static data (cursor, tokens, handled IDs): it seeds a state file
 * that does not exist yet, so an upgrade neither repeats nor loses messages.
 */
export function sharedBotState(path: string, legacy?: unknown): BotState {
  let state = states.get(path);
  if (state) return state;
  const store = new FileStateStore(path);
  if (legacy !== undefined && !existsSync(path) && !existsSync(store.journalPath)) store.record(seedChanges(legacy));
  state = new BotState(store);
  states.set(path, state);
  return state;
}

function seedChanges(legacy: unknown): StateChange[] {
  const snapshot = normalizeSnapshot(legacy);
  return [
    { cursor: snapshot.cursor },
    ...Object.entries(snapshot.contextTokens).map(([user, token]): StateChange => ({ token: [user, token] })),
    ...snapshot.seenMessageIds.map((id): StateChange => ({ seen: id })),
  ];
}
