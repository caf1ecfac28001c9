/**
 * A tiny real HTTP server on 127.0.0.1 whose answers a test scripts one by one.
 * For transport-level rules where the simulator's realism is not the point
 * (exact headers, odd status codes, hand-written bodies).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Answer =
  | { status?: number; body?: string | object; headers?: Record<string, string>; delayMs?: number }
  | ((request: SeenRequest, res: ServerResponse) => void);

export interface ScriptedServer {
  url: string;
  requests: SeenRequest[];
  /** Queue answers; when the queue is empty, `fallback` answers. */
  answer(...answers: Answer[]): void;
  fallback: Answer;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const queue: Answer[] = [];
  const requests: SeenRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state: ScriptedServer = {
    url: '',
    requests,
    answer: (...answers) => queue.push(...answers),
    fallback: { body: { ret: 0 } },
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(seen);
      const answer = queue.shift() ?? state.fallback;
      if (typeof answer === 'function') return answer(seen, res);
      const send = () => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
        res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? { ret: 0 }));
      };
      if (answer.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, answer.delayMs);
        timers.add(timer);
      }
      else send();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
