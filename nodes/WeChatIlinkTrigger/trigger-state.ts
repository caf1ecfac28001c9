/**
 * The trigger's client, the bot state it works on and the bot it receives for.
 * The bot's state is shared by every node of this n8n that uses the bot
 * (nodes/common/bot-state.ts), and so is its poller (nodes/common/bot-hub.ts):
 * a test listen ("Listen for test event") receives through the same poller
 * and state as the active workflows. A message it got is marked handled
 * there, so the next test listen waits for a new one instead of answering it
 * again.
 */
import type { ICredentialDataDecryptedObject, ITriggerFunctions } from 'n8n-workflow';
import { botKeyFor, type BotState, type ILinkClient } from '../../shared';
import { effectiveToken, type IlinkCredentialFields } from '../../credentials/wechat-ilink-fields';
import { createILinkClient, sharedBotStateFor } from '../common/client';

/** Where versions before 0.2 kept the cursor, context tokens and dedupe window: the node's static data. */
const LEGACY_STATE_KEY = 'ilinkState';

export interface TriggerRun {
  client: ILinkClient;
  /** The bot's shared state (the client's own). */
  botState: BotState;
  /** The bot's key in this process: its hub's. */
  botKey: string;
  /** "Listen for test event" rather than an active workflow. */
  manual: boolean;
}

export async function createTriggerRun(context: ITriggerFunctions, credentials: ICredentialDataDecryptedObject, fields: IlinkCredentialFields): Promise<TriggerRun> {
  const manual = context.getMode() === 'manual';
  const staticData = context.getWorkflowStaticData('node');
  const botState = await sharedBotStateFor(credentials, context.logger, staticData[LEGACY_STATE_KEY]);
  if (!manual && LEGACY_STATE_KEY in staticData) delete staticData[LEGACY_STATE_KEY]; // moved into the state file
  const client = createILinkClient(credentials, {
    logger: context.logger,
    state: botState,
    context: { workflowId: context.getWorkflow().id, node: context.getNode().name },
  });
  return { client, botState, botKey: botKeyFor(fields.botId || undefined, effectiveToken(fields)), manual };
}
