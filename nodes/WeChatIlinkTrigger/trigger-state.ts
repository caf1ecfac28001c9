/**
 * The trigger's client and the bot state it works on. The bot's state is
 * shared by every node of this n8n that uses the bot (nodes/common/bot-state.ts).
 * Manual runs ("Listen for test event") start from it but must not move its
 * cursor, inbox or handled IDs; what the server learnt from a message (the
 * sender's new window, token) goes in.
 */
import type { ICredentialDataDecryptedObject, ITriggerFunctions } from 'n8n-workflow';
import { botKeyFor, inboundTimeOf, MemoryStateStore, type BotState, type ILinkClient, type Message } from '../../shared';
import { effectiveToken, type IlinkCredentialFields } from '../../credentials/wechat-ilink-fields';
import { createILinkClient, sharedBotStateFor } from '../common/client';

/** Where versions before 0.2 kept the cursor, context tokens and dedupe window: the node's static data. */
const LEGACY_STATE_KEY = 'ilinkState';

export interface TriggerRun {
  client: ILinkClient;
  /** The bot's shared state (the client's own, except in a test listener). */
  botState: BotState;
  /** "Listen for test event" rather than an active workflow. */
  manual: boolean;
}

export function createTriggerRun(context: ITriggerFunctions, credentials: ICredentialDataDecryptedObject, fields: IlinkCredentialFields): TriggerRun {
  const manual = context.getMode() === 'manual';
  const staticData = context.getWorkflowStaticData('node');
  const botState = sharedBotStateFor(credentials, staticData[LEGACY_STATE_KEY]);
  if (!manual && LEGACY_STATE_KEY in staticData) delete staticData[LEGACY_STATE_KEY]; // moved into the state file
  const client = createILinkClient(credentials, {
    logger: context.logger,
    state: manual ? testListenerState(context, fields, botState) : botState,
    context: { workflowId: context.getWorkflow().id, node: context.getNode().name },
  });
  return { client, botState, manual };
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
export function noteInboundIn(state: BotState, message: Message): void {
  state.noteUserMessage(message.from, message.contextToken, inboundTimeOf(message.createTime, Date.now()));
}
