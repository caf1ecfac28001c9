import {
  NodeConnectionTypes,
  NodeOperationError,
  type IDataObject,
  type INodeType,
  type INodeTypeDescription,
  type IRun,
  type ITriggerFunctions,
  type ITriggerResponse,
} from 'n8n-workflow';
import {
  botKeyFor,
  createMessageFilter,
  DEFAULT_CONCURRENCY,
  inboundTimeOf,
  MemoryStateStore,
  pickMediaItem,
  SessionExpiredError,
  ValidationError,
  type BotState,
  type ILinkClient,
  type Message,
  type PollerTimings,
  pollerTimingsFromEnv,
  type ReplyWindow,
} from '../../shared';
import { checkCredentialFields, CREDENTIAL_NAME, effectiveToken, readCredentialFields, type IlinkCredentialFields } from '../../credentials/wechat-ilink-fields';
import { credentialTestMethods } from '../../credentials/wechat-ilink-credential-test';
import { createIlinkClient, sharedBotStateFor } from '../common/client';
import { RELOGIN_HINT } from '../common/node-errors';
import { replyWindowJson } from '../common/reply-window-json';
import { EXECUTION_WAIT_MS, waitAtMost } from './execution-wait';
import { mediaSummary } from '../common/media-summary';
import { messageItem, messageJson, windowClosingJson } from './message-item';
import { readTriggerSettings, type TriggerSettings } from './trigger-options';
import { triggerProperties } from './trigger-properties';

/** Where versions before 0.2 kept the cursor, context tokens and dedupe window: the node's static data. */
const LEGACY_STATE_KEY = 'ilinkState';

export class WeChatIlinkTrigger implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'WeChat iLink Trigger',
    name: 'weChatIlinkTrigger',
    icon: { light: 'file:wechatIlink.svg', dark: 'file:wechatIlink.dark.svg' },
    group: ['trigger'],
    version: 1,
    subtitle: '={{"messages: " + $parameter["senders"]}}',
    description: 'Starts the workflow when the WeChat bot receives a message (iLink long polling)',
    defaults: { name: 'WeChat iLink Trigger' },
    inputs: [],
    outputs: [NodeConnectionTypes.Main],
    // Literals, as n8n's lint reads them: CREDENTIAL_NAME and CREDENTIAL_TEST_NAME (the core's check, not a fixed request).
    credentials: [{ name: 'wechatIlinkApi', required: true, testedBy: 'wechatIlinkConnection' }],
    properties: triggerProperties,
  };

  methods = { credentialTest: credentialTestMethods };

  async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
    const node = this.getNode();
    const credentials = await this.getCredentials(CREDENTIAL_NAME);
    const fields = readCredentialFields(credentials);
    let settings: TriggerSettings;
    let accept: (message: Message) => boolean;
    let acceptSender: (userId: string) => boolean;
    let timings: Partial<PollerTimings> | undefined;
    try {
      settings = readTriggerSettings(this, fields.ownerUserId || undefined);
      accept = createMessageFilter(settings.filter);
      // The window-closing warning has no message: only the Senders setting applies to it.
      const senderFilter = createMessageFilter({ senders: settings.filter.senders, allowList: settings.filter.allowList, ownerUserId: settings.filter.ownerUserId });
      acceptSender = (userId) => senderFilter({ messageId: '', from: userId, to: '', kind: 'user', items: [], text: '' });
      timings = pollerTimingsFromEnv();
    } catch (error) {
      throw new NodeOperationError(node, error instanceof ValidationError ? error.message : (error as Error));
    }

    // Refuse to start on a dead session: n8n then retries the activation with a growing delay,
    // instead of a start/fail loop at the shortest interval. A network failure does not count.
    const check = await checkCredentialFields(fields);
    if (!check.ok && (check.reason === 'no-token' || check.reason === 'session-expired')) {
      throw new NodeOperationError(node, check.reason === 'no-token' ? 'The WeChat iLink credential has no bot token yet' : check.message, {
        description: RELOGIN_HINT,
      });
    }

    // The bot's state is shared by every node of this n8n that uses the bot (nodes/common/bot-state.ts).
    // Manual runs ("Listen for test event") start from it but must not move its cursor, inbox or
    // handled IDs; what the server learnt from a message (the sender's new window, token) goes in.
    const manual = this.getMode() === 'manual';
    const staticData = this.getWorkflowStaticData('node');
    const botState = sharedBotStateFor(credentials, staticData[LEGACY_STATE_KEY]);
    if (!manual && LEGACY_STATE_KEY in staticData) delete staticData[LEGACY_STATE_KEY]; // moved into the state file
    const client = createIlinkClient(credentials, {
      logger: this.logger,
      state: manual ? testListenerState(this, fields, botState) : botState,
      context: { workflowId: this.getWorkflow().id, node: node.name },
    });

    // Ends the wait for a running execution when the trigger closes.
    const closing = new AbortController();
    let warnedSlowExecution = false;

    const emitMessage = async (message: Message) => {
      // Handled once its execution starts: a kill of n8n while it runs does not run it again
      // (at most once, as n8n's own triggers); the messages behind it wait in the state file's inbox.
      client.state.markSeen(message.messageId);
      if (manual && message.kind !== 'bot') noteInboundIn(botState, message);
      // The sender's window as the state knows it now (open again, less what their outbox just used);
      // the outbox is the shared one (a test listener does not send it).
      const replyWindow = message.kind === 'bot' ? undefined : replyWindowJson(client.replyWindow(message.from, message.contextToken), botState.outbox(message.from).length);
      const item = await buildItem(this, client, message, settings, replyWindow);
      const waitForExecution = settings.oneAtATime && !manual;
      if (!settings.typingIndicator && !waitForExecution) {
        this.emit([[item]]);
        return;
      }
      const done = this.helpers.createDeferredPromise<IRun>();
      const typing = settings.typingIndicator ? client.typing.start(message.from, { contextToken: message.contextToken }) : undefined;
      this.emit([[item]], undefined, done);
      // Settles when the execution ends, whether it succeeded or failed.
      const finished = done.promise.then(
        () => 'finished' as const,
        () => 'finished' as const,
      );
      if (typing) void finished.then(() => typing.stop());
      if (!waitForExecution) return;
      // One at a time: a backlog of messages would otherwise start every execution at once,
      // and n8n (SQLite) stalls on a few hundred; replies to a user also stay in order.
      const outcome = await waitAtMost(finished, EXECUTION_WAIT_MS, closing.signal);
      if (outcome === 'timeout' && !warnedSlowExecution) {
        warnedSlowExecution = true;
        this.logger.warn(
          `WeChat iLink Trigger: the execution for message ${message.messageId} ran longer than ${EXECUTION_WAIT_MS / 1000} s; ` +
            'the next message starts without waiting for it (set Processing to "In Parallel" for long workflows)',
        );
      }
    };

    // "Window Closing Warning": an item of its own, a set time before a user's window closes.
    const emitWindowClosing = (window: ReplyWindow) => {
      if (!acceptSender(window.userId)) return;
      this.emit([[{ json: windowClosingJson(window.userId, replyWindowJson(window, botState.outbox(window.userId).length)) }]]);
    };

    const workflow = this.getWorkflow();
    const owner = `n8n workflow ${workflow.id ?? ''} "${workflow.name ?? ''}"${manual ? ' (test listener)' : ''}`;
    const poller = client.createPoller(emitMessage, {
        owner,
        timings,
        accept,
        includeBotMessages: settings.filter.ignoreBotEchoes === false,
        // One at a Time: one execution at a time, all users (n8n stalls on a backlog run at once).
        concurrency: settings.oneAtATime && !manual ? 1 : DEFAULT_CONCURRENCY,
        onSessionExpired: 'stop',
        windowClosing: settings.windowClosingLeadMs > 0 ? { leadMs: settings.windowClosingLeadMs, onClosing: emitWindowClosing } : undefined,
        onError: (error, info) => {
          // Poll failures follow the core's backoff and are logged by it; no execution per failure.
          if (info.source === 'handler') this.logger.warn(`WeChat iLink Trigger: could not emit message ${info.message?.messageId}: ${error.message}`);
        },
    });

    const startPolling = () => {
      // start() claims the bot synchronously: a second active trigger on this bot fails here.
      poller.start().catch((error: unknown) => {
        if (error instanceof SessionExpiredError) {
          this.emitError(new NodeOperationError(node, error.message, { description: RELOGIN_HINT }));
          return;
        }
        this.emitError(error instanceof Error ? error : new Error(String(error)));
      });
    };

    const claim = () => {
      try {
        startPolling();
      } catch (error) {
        throw new NodeOperationError(node, (error as Error).message, {
          description: 'Only one WeChat iLink Trigger may receive messages for a bot. Deactivate the other workflow, or give this one another bot.',
        });
      }
    };

    const closeFunction = async () => {
      closing.abort();
      await poller.stop();
    };
    if (!manual) {
      claim();
      return { closeFunction };
    }

    // "Listen for test event": n8n takes the first emitted item, then calls closeFunction.
    const manualTriggerFunction = async () => claim();
    return { closeFunction, manualTriggerFunction };
  }
}

/**
 * What earlier test listens of this trigger (same workflow, node and bot) handled, in this
 * n8n process. n8n does not keep static data from manual runs, and iLink drops a message
 * only when a later poll is answered (a listen stops right after its first message), so
 * without this each new "Listen for test event" got the last tested message again and
 * answered it once more.
 */
const testListenerStates = new Map<string, MemoryStateStore>();

function testListenerState(context: ITriggerFunctions, fields: IlinkCredentialFields, shared: BotState): MemoryStateStore {
  const node = context.getNode();
  const key = `${context.getWorkflow().id ?? ''}/${node.id ?? node.name}/${botKeyFor(fields.botId || undefined, effectiveToken(fields))}`;
  let state = testListenerStates.get(key);
  if (!state) {
    // The active workflow's waiting messages are its own: a test listen starts with an empty inbox.
    // The outbox stays in the shared state (sent by the active trigger), or a test listen would send it a second time.
    state = new MemoryStateStore({ ...shared.snapshot(), inbox: [], outbox: [] });
    testListenerStates.set(key, state);
  }
  return state;
}

/**
 * A message a test listener received: the server gave its sender a new reply window and
 * context token, which the bot's shared state must know too (as the poller records them).
 */
function noteInboundIn(state: BotState, message: Message): void {
  state.noteUserMessage(message.from, message.contextToken, inboundTimeOf(message.createTime, Date.now()));
}

async function buildItem(context: ITriggerFunctions, client: ILinkClient, message: Message, settings: TriggerSettings, replyWindow: IDataObject | undefined) {
  const json = messageJson(message, new Date(), replyWindow);
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
