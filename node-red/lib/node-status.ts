/**
 * Status vocabulary of 10-mqtt.js: yellow ring = connecting, green dot = fine,
 * red ring = needs attention. Fixed texts are i18n keys of the node's own
 * catalogue (the editor translates them); error details are the core's
 * English messages, shortened to fit under a node.
 */
import { PollerConflictError, SessionExpiredError } from '../../shared';
import { NotLoggedInError } from './bot-client';
import type { NodeAPI, NodeStatus, RedNode } from './red-api';

const MAX_STATUS_CHARS = 60;

export function shorten(text: string, max = MAX_STATUS_CHARS): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** `type` is the node type, i.e. the catalogue's top-level key (e.g. "ilink-send"). */
export function errorStatus(type: string, error: unknown): NodeStatus {
  if (error instanceof SessionExpiredError) return { fill: 'red', shape: 'ring', text: `${type}.status.session-expired` };
  if (error instanceof NotLoggedInError) return { fill: 'red', shape: 'ring', text: `${type}.status.not-logged-in` };
  if (error instanceof PollerConflictError) return { fill: 'red', shape: 'ring', text: `${type}.status.conflict` };
  const message = error instanceof Error ? error.message : String(error);
  return { fill: 'red', shape: 'ring', text: shorten(message) };
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The config node this node points at, or a red status saying what is missing. */
export function configNodeOf<T>(RED: NodeAPI, node: RedNode, configId: string | undefined): T | undefined {
  const config = configId ? (RED.nodes.getNode(configId) as T | null) : null;
  if (!config) node.status({ fill: 'red', shape: 'ring', text: `${node.type}.status.no-config` });
  return config ?? undefined;
}

/** For nodes whose "Bot" field points at no ilink-config node. */
export function noBotSelectedError(): Error {
  return new Error('no WeChat iLink bot selected: pick or add an ilink-config node in this node\'s "Bot" field');
}

/**
 * A translated status text with parameters, looked up once per node. RED._()
 * runs i18next on every call (about half of ilink-send's CPU per message in
 * the echo benchmark); the node translates its template when it is created
 * and fills in the values per message.
 */
export function statusTemplate<K extends string>(
  RED: NodeAPI,
  key: string,
  names: readonly K[],
): (values: Record<K, string | number>) => string {
  const marks = Object.fromEntries(names.map((name, i) => [name, `\u0000${i}\u0000`]));
  const template = RED._(key, marks);
  return (values) => template.replace(/\u0000(\d+)\u0000/g, (_, i: string) => String(values[names[Number(i)]!]));
}
