/**
 * One state per bot for the whole n8n instance: cursor, inbox, context tokens
 * and the quote cache, in a file store under n8n's user folder
 * (`<N8N_USER_FOLDER>/.n8n/wechat-ilink/<bot>.json`, with its journal).
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
import { BotState, FileStateStore, botKeyFor, normalizeSnapshot, safeAccountId, type StateChange } from '../../shared';

export function n8nStateDirectory(): string {
  return join(process.env.N8N_USER_FOLDER?.trim() || homedir(), '.n8n', 'wechat-ilink');
}

export function botStatePath(botId: string | undefined, token: string): string {
  return join(n8nStateDirectory(), `${safeAccountId(botKeyFor(botId, token))}.json`);
}

// On globalThis so that two copies of this package loaded by n8n still share the states.
const REGISTRY = Symbol.for('n8n-nodes-wechat-ilink.n8n-bot-states');
const states: Map<string, BotState> = ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<string, BotState> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new Map<string, BotState>());

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
