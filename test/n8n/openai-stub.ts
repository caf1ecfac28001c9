/**
 * A deterministic OpenAI-compatible server for tests: POST
 * /v1/chat/completions on 127.0.0.1 at a free port. It records every request
 * it gets, so that a test can check what the model was shown (the `messages`
 * of each chat request: system prompt, memory, user message). The test
 * decides the answers: `answer` is a function of the request (by default it
 * echoes the last user message).
 *
 * Measured on n8n 2.41.1: the OpenAI Chat Model (Use Responses API off) under
 * an AI Agent after a trigger calls nothing else (no model list) and asks with
 * `stream: false`. Other paths get a 404 and a stream request a 400, both
 * recorded, so that a change in n8n shows up as a failing test.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatMessage {
  role: string;
  /** A string, or (some clients) an array of parts like `{type: 'text', text}`. */
  content: unknown;
  [key: string]: unknown;
}

export interface StubRequest {
  method: string;
  /** The path as sent, e.g. /v1/chat/completions. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (undefined for a GET or a body that is not JSON). */
  body: any;
  /** A chat request's messages; [] for other requests. */
  messages: ChatMessage[];
  stream: boolean;
}

export type Answerer = (request: StubRequest) => string | Promise<string>;

export interface OpenAiStub {
  /** The base URL the OpenAI credential takes, e.g. http://127.0.0.1:40123/v1 */
  readonly baseUrl: string;
  /** Every request received, oldest first (unknown paths included: they are answered 404). */
  readonly requests: StubRequest[];
  /** Chat requests only, oldest first. */
  chatRequests(): StubRequest[];
  /** Chooses the assistant's answer to a chat request; replace it at any time. */
  answer: Answerer;
  stop(): Promise<void>;
}

/** The text of a message's content (string, or the text parts of an array). */
export function contentText(message: ChatMessage | undefined): string {
  if (!message) return '';
  const { content } = message;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'string' ? part : String(part?.text ?? ''))).join('');
  return '';
}

/** The last message of role user in a chat request ('' when there is none). */
export function lastUserText(request: StubRequest): string {
  return contentText([...request.messages].reverse().find((m) => m.role === 'user'));
}

/** [role, text] of each message: what a test compares. */
export function transcript(request: StubRequest): Array<[string, string]> {
  return request.messages.map((m) => [m.role, contentText(m)]);
}

const SENTENCES = [
  '今天我们来聊一聊如何在微信里使用人工智能助手。',
  '它可以回答问题、整理笔记、翻译句子，也可以陪你练习口语。',
  '回答太长的时候，机器人会把它分成好几条消息发送。',
  '微信对每条用户消息之后的回复条数有限制，所以剩下的部分会在你下一条消息之后送达。',
];

/**
 * A long Chinese answer: `parts` paragraphs of `partLength` characters each
 * (sentences repeated; every paragraph starts with its number so that a test
 * can tell which ones arrived), separated by blank lines.
 */
export function longChineseAnswer(parts = 12, partLength = 3_500): string {
  const paragraphs: string[] = [];
  for (let i = 1; i <= parts; i++) {
    let text = `第${i}段。`;
    for (let s = 0; text.length < partLength; s++) text += SENTENCES[s % SENTENCES.length];
    paragraphs.push(text.slice(0, partLength));
  }
  return paragraphs.join('\n\n');
}

function completion(body: any, text: string): Record<string, unknown> {
  return {
    id: `chatcmpl-stub-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: String(body?.model ?? 'stub-model'),
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

export async function startOpenAiStub(options: { answer?: Answerer } = {}): Promise<OpenAiStub> {
  const requests: StubRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: any;
        try {
          body = raw ? JSON.parse(raw) : undefined;
        } catch {
          body = undefined;
        }
        const path = (req.url ?? '/').split('?')[0];
        const isChat = req.method === 'POST' && path.endsWith('/chat/completions');
        const request: StubRequest = {
          method: req.method ?? 'GET',
          path,
          headers: req.headers,
          body,
          messages: isChat && Array.isArray(body?.messages) ? body.messages : [],
          stream: isChat && body?.stream === true,
        };
        requests.push(request);
        if (isChat && request.stream) {
          sendJson(res, 400, { error: { message: 'the stub answers only stream: false (the test expects no streaming)', type: 'invalid_request_error' } });
        } else if (isChat) {
          sendJson(res, 200, completion(body, await stub.answer(request)));
        } else {
          sendJson(res, 404, { error: { message: `the stub does not serve ${req.method} ${path}`, type: 'invalid_request_error', code: 'unknown_url' } });
        }
      })().catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: String(error), type: 'server_error' } });
        else res.end();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const stub: OpenAiStub = {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests: () => requests.filter((r) => r.method === 'POST' && r.path.endsWith('/chat/completions')),
    answer: options.answer ?? ((request) => `stub answer to: ${lastUserText(request)}`),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return stub;
}
