/** What the trigger does with each message the poller hands it, and with a window-closing warning. */
import type { IDataObject, INodeExecutionData, IRun, ITriggerFunctions } from 'n8n-workflow';
import { pickMediaItem, type ILinkClient, type Message, type ReplyWindow } from '../../shared';
import { mediaSummary } from '../common/media-summary';
import { replyWindowJson } from '../common/reply-window-json';
import { EXECUTION_WAIT_MS, waitAtMost } from './execution-wait';
import { messageItem, messageJson, windowClosingJson } from './message-item';
import type { TriggerSettings } from './trigger-options';
import type { TriggerRun } from './trigger-state';

/**
 * The longest "typing…" shows for one message: an execution whose end n8n never reports
 * (a crashed worker, a workflow waiting for days) must not leave it on.
 */
export const TYPING_LIMIT_MS = 120_000;

/** `closing` aborts when the trigger closes: it ends the wait for a running execution. */
export function messageEmitter(context: ITriggerFunctions, run: TriggerRun, settings: TriggerSettings, closing: AbortSignal): (message: Message) => Promise<void> {
  const { client, botState, manual } = run;
  const waitForExecution = settings.oneAtATime && !manual;
  let warnedSlowExecution = false;
  // A deactivated trigger leaves no "typing…" behind.
  if (settings.typingIndicator) closing.addEventListener('abort', () => void client.typingSessions.stopAll(), { once: true });
  return async (message) => {
    // Handled once its execution starts: a kill of n8n while it runs does not run it again
    // (at most once, as n8n's own triggers); the messages behind it wait in the state file's inbox.
    // With several triggers on the bot, the first to start its execution marks it.
    client.state.markSeen(message.messageId);
    // The sender's window as the state knows it now (open again, less what their outbox just used).
    const replyWindow = message.kind === 'bot' ? undefined : replyWindowJson(client.replyWindow(message.from, message.contextToken), botState.outbox(message.from).length);
    const item = await buildItem(context, client, message, settings, replyWindow);
    if (!settings.typingIndicator && !waitForExecution) {
      context.emit([[item]]);
      return;
    }
    // "typing…" ends when a reply goes out (the core ends it on any send to the user), when the
    // execution ends (also when it fails), and at the latest after TYPING_LIMIT_MS.
    if (settings.typingIndicator) client.typingSessions.start(message.from, { contextToken: message.contextToken, timeoutMs: TYPING_LIMIT_MS });
    const finished = emitWithEnd(context, item, settings.typingIndicator ? () => client.typingSessions.stop(message.from) : undefined);
    if (!waitForExecution) return;
    // One at a time: a backlog of messages would otherwise start every execution at once,
    // and n8n (SQLite) stalls on a few hundred; replies to a user also stay in order.
    const outcome = await waitAtMost(finished, EXECUTION_WAIT_MS, closing);
    if (outcome === 'timeout' && !warnedSlowExecution) {
      warnedSlowExecution = true;
      context.logger.warn(
        `WeChat iLink Trigger: the execution for message ${message.messageId} ran longer than ${EXECUTION_WAIT_MS / 1000} s; ` +
          'the next message starts without waiting for it (set Processing to "In Parallel" for long workflows)',
      );
    }
  };
}

/** Emits the item and settles when its execution ends, whether it succeeded or failed; typing stops then. */
function emitWithEnd(context: ITriggerFunctions, item: INodeExecutionData, stopTyping: (() => Promise<unknown>) | undefined): Promise<'finished'> {
  const done = context.helpers.createDeferredPromise<IRun>();
  context.emit([[item]], undefined, done);
  const finished = done.promise.then(
    () => 'finished' as const,
    () => 'finished' as const,
  );
  if (stopTyping) void finished.then(stopTyping);
  return finished;
}

/** "Window Closing Warning": an item of its own, a set time before a user's window closes. */
export function windowClosingEmitter(context: ITriggerFunctions, run: TriggerRun, acceptSender: (userId: string) => boolean): (window: ReplyWindow) => void {
  return (window) => {
    if (!acceptSender(window.userId)) return;
    context.emit([[{ json: windowClosingJson(window.userId, replyWindowJson(window, run.botState.outbox(window.userId).length)) }]]);
  };
}

async function buildItem(context: ITriggerFunctions, client: ILinkClient, message: Message, settings: TriggerSettings, replyWindow: IDataObject | undefined) {
  const json = messageJson(message, new Date(), replyWindow, client.botId);
  if (!settings.downloadMedia || !pickMediaItem(message.items)) return messageItem(json);
  try {
    const media = await client.downloadMedia(message);
    const data = await context.helpers.prepareBinaryData(media.data, media.fileName, media.mimeType);
    json.media = mediaSummary(media, settings.binaryPropertyName);
    return messageItem(json, { name: settings.binaryPropertyName, data });
  } catch (error) {
    // The message still counts; the workflow sees why its media is missing.
    json.mediaError = (error as Error).message;
    return messageItem(json);
  }
}
