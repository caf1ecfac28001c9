/** The core's Logger on top of a node's log methods (the core already redacts the token). */
import type { Logger } from '../../shared';
import type { RedNode } from './red-api';

export function nodeLogger(node: RedNode): Logger {
  return {
    debug: (message) => node.debug(message),
    info: (message) => node.log(message),
    warn: (message) => node.warn(message),
    // node.error without a msg only logs; Catch nodes are reached by the nodes themselves.
    error: (message) => node.error(message),
  };
}
