/**
 * The chat page (GET /chat) and its data: a person plays one or several
 * WeChat users of a bot. Live updates come over Server-Sent Events.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from './http-util';
import type { ReplyWindowView } from './send-rules';
import type { SimState, TimelineEntry, TypingState } from './state';

const HEARTBEAT_MS = 15_000;

/**
 * A user's reply window and budget for the page (§10). msLeft is the time
 * left on the simulator clock when this was sent (0 when closed): the page
 * counts it down on its own clock, so an advanced simulator clock shows right.
 */
export interface ChatWindow extends ReplyWindowView {
  msLeft: number;
  sendsPerInbound: number;
}

function chatWindow(state: SimState, botId: string, userId: string): ChatWindow {
  const view = state.replyWindow(botId, userId);
  const msLeft = view.open && view.closesAt !== null ? Math.max(0, view.closesAt - state.clockNow()) : 0;
  return { ...view, msLeft, sendsPerInbound: state.sendLimits.sendsPerInbound };
}

function chatWindows(state: SimState, botId: string, users: string[]): Record<string, ChatWindow> {
  const windows: Record<string, ChatWindow> = {};
  for (const user of users) windows[user] = chatWindow(state, botId, user);
  return windows;
}

/** GET /_chat/state?botId=: bots, and for the chosen bot its users, conversation, typing states and reply windows. */
export function serveChatState(state: SimState, res: ServerResponse, botId: string | null): void {
  const bots = state.listBots().map(({ botId: id, ownerUserId, sessionExpired }) => ({ botId: id, ownerUserId, sessionExpired }));
  const bot = botId ? bots.find((candidate) => candidate.botId === botId) : undefined;
  if (!bot) return sendJson(res, 200, { bots });
  const users = state.usersOf(bot.botId);
  const typing: Record<string, TypingState> = {};
  for (const user of users) typing[user] = state.typingState(bot.botId, user);
  sendJson(res, 200, { bots, bot, users, timeline: state.timeline(bot.botId), typing, windows: chatWindows(state, bot.botId, users) });
}

/**
 * GET /_chat/events?botId=: `message`, `typing`, `recall`, `bots` and
 * `windows` events for that bot. `windows` ({userId: ChatWindow}) comes when
 * a user writes, the bot sends, a window is closed (one user) or the
 * simulator clock moves (every user of the bot).
 */
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
  const sendWindows = (users: string[]): void => {
    // The bot may be gone (reset); the page reloads on `bots`.
    if (botId && state.getBot(botId)) send('windows', chatWindows(state, botId, users));
  };
  const onWindow = (event: { botId: string; userId: string }): void => {
    if (event.botId === botId) sendWindows([event.userId]);
  };
  const onClock = (): void => {
    if (botId && state.getBot(botId)) sendWindows(state.usersOf(botId));
  };
  state.events.on('timeline', onTimeline);
  state.events.on('window', onWindow);
  state.events.on('clock', onClock);
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
    state.events.off('window', onWindow);
    state.events.off('clock', onClock);
  });
}
