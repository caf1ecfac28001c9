/**
 * The small part of Node-RED's runtime API these nodes use, typed loosely
 * (the @node-red types are not a dependency of this package).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type NodeMessage = Record<string, any>;

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFunction = (msg: NodeMessage | Array<NodeMessage | null> | null) => void;
export type DoneFunction = (error?: Error | string) => void;

/** A runtime node instance after RED.nodes.createNode(this, def). */
export interface RedNode {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', listener: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void | Promise<void>): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | Array<NodeMessage | null> | null): void;
  status(status: NodeStatus): void;
  log(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** With a msg, the error reaches Catch nodes. */
  error(error: string | Error, msg?: NodeMessage): void;
}

/** What every node definition from the editor carries. */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
}

export interface AdminRequest extends IncomingMessage {
  params: Record<string, string>;
  body?: Record<string, unknown>;
  query: Record<string, unknown>;
}

export interface AdminResponse extends ServerResponse {
  json(body: unknown): void;
  status(code: number): AdminResponse;
}

export type AdminHandler = (req: AdminRequest, res: AdminResponse, next: () => void) => void;

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, constructor: Function, options?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): unknown;
    /** Every node of the deployed flows, as deployed (config nodes and nodes of disabled flows too). */
    eachNode(callback: (def: NodeDef & Record<string, unknown>) => void): void;
    getCredentials(id: string): Record<string, string | undefined> | undefined;
    addCredentials(id: string, credentials: Record<string, string | undefined>): Promise<void> | void;
  };
  httpAdmin: {
    get(path: string, ...handlers: AdminHandler[]): void;
    post(path: string, ...handlers: AdminHandler[]): void;
  };
  auth: { needsPermission(permission: string): AdminHandler };
  settings: { userDir?: string; [key: string]: unknown };
  log: { info(message: string): void; warn(message: string): void; error(message: string): void; debug(message: string): void };
  /** Translates a key of this node file's message catalogue (locales/<lang>/<node>.json). */
  _(key: string, substitutions?: Record<string, unknown>): string;
}
