/**
 * The node statuses a Node-RED runtime shows in the editor, read where the
 * editor reads them: its /comms WebSocket (topic `status/<node id>`). The
 * admin HTTP API has no such call, and a status is often the only sign of a
 * broken node (e.g. a config reference that points nowhere).
 */
import { until } from '../helpers/until';

export interface NodeStatus {
  fill?: string;
  shape?: string;
  text?: string;
}

export interface StatusWatch {
  /** Every status shown since the watch started, oldest first. */
  readonly history: ReadonlyArray<{ id: string; status: NodeStatus }>;
  /** Waits until a status of node `id` (shown after the first `since` entries of the history) matches. */
  waitFor(id: string, match: (status: NodeStatus) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<NodeStatus>;
  close(): void;
}

export async function watchStatuses(nodeRedUrl: string): Promise<StatusWatch> {
  const history: Array<{ id: string; status: NodeStatus }> = [];
  const socket = new WebSocket(`${nodeRedUrl.replace(/^http/, 'ws')}/comms`);
  socket.addEventListener('message', (event) => {
    for (const { topic, data } of JSON.parse(String(event.data)) as Array<{ topic: string; data: NodeStatus }>) {
      if (topic.startsWith('status/')) history.push({ id: topic.slice('status/'.length), status: data });
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`no WebSocket to ${nodeRedUrl}/comms`)), { once: true });
  });
  // Without adminAuth the connection is live at once; subscribing is what the editor does.
  socket.send(JSON.stringify({ subscribe: 'status/#' }));

  return {
    history,
    async waitFor(id, match, { since = 0, timeoutMs = 15_000 } = {}) {
      let found: NodeStatus | undefined;
      const seen = () => (found = history.slice(since).find((entry) => entry.id === id && match(entry.status))?.status) !== undefined;
      await until(seen, timeoutMs).catch(() => {
        throw new Error(`node ${id} never showed the awaited status; it showed ${JSON.stringify(history.filter((entry) => entry.id === id))}`);
      });
      return found!;
    },
    close: () => socket.close(),
  };
}
