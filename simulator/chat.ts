/**
 * The chat page (GET /chat) and its data: a person plays one or several
 * WeChat users of a bot. Live updates come over Server-Sent Events.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from './http-util';
import type { SimState, TimelineEntry, TypingState } from './state';

const HEARTBEAT_MS = 15_000;

/** GET /_chat/state?botId=: bots, and for the chosen bot its users, conversation and typing states. */
export function serveChatState(state: SimState, res: ServerResponse, botId: string | null): void {
  const bots = state.listBots().map(({ botId: id, ownerUserId, sessionExpired }) => ({ botId: id, ownerUserId, sessionExpired }));
  const bot = botId ? bots.find((candidate) => candidate.botId === botId) : undefined;
  if (!bot) return sendJson(res, 200, { bots });
  const users = state.usersOf(bot.botId);
  const typing: Record<string, TypingState> = {};
  for (const user of users) typing[user] = state.typingState(bot.botId, user);
  sendJson(res, 200, { bots, bot, users, timeline: state.timeline(bot.botId), typing });
}

/** GET /_chat/events?botId=: `message`, `typing`, `recall` and `bots` events for that bot. */
export function serveChatEvents(state: SimState, res: ServerResponse, botId: string | null): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  res.write(': connected\n\n');
  const send = (event: string, data: unknown): void => {
    if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const onTimeline = (entry: TimelineEntry): void => {
    if (entry.botId === botId) send('message', entry);
  };
  const onTyping = (event: { botId: string; userId: string; state: TypingState }): void => {
    if (event.botId === botId) send('typing', { userId: event.userId, ...event.state });
  };
  const onRecall = (event: { botId: string; messageId: string }): void => {
    if (event.botId === botId) send('recall', event);
  };
  const onBots = (): void => send('bots', {});
  state.events.on('timeline', onTimeline);
  state.events.on('typing', onTyping);
  state.events.on('recall', onRecall);
  state.events.on('bots', onBots);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  res.on('close', () => {
    clearInterval(heartbeat);
    state.events.off('timeline', onTimeline);
    state.events.off('typing', onTyping);
    state.events.off('recall', onRecall);
    state.events.off('bots', onBots);
  });
}
