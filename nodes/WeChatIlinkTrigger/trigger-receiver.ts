/**
 * The trigger as one receiver of its bot's poller (nodes/common/bot-hub.ts):
 * which messages it takes, whether the bot waits for its executions, and how
 * an end of the polling reaches the workflow.
 */
import { NodeOperationError, type INode, type ITriggerFunctions } from 'n8n-workflow';
import { PollerConflictError, SessionExpiredError, type MessageReceiver } from '../../shared';
import { receiveFromBot } from '../common/bot-hub';
import { RELOGIN_HINT } from '../common/node-errors';
import type { TriggerConfig } from './trigger-config';
import { messageEmitter, windowClosingEmitter } from './trigger-listener';
import type { TriggerRun } from './trigger-state';

export function createTriggerReceiver(context: ITriggerFunctions, run: TriggerRun, config: TriggerConfig, closing: AbortSignal): MessageReceiver {
  const { settings } = config;
  const emit = messageEmitter(context, run, settings, closing);
  let tookTestEvent = false;
  return {
    // One at a Time: one execution at a time, all users (n8n stalls on a backlog run at once). A test listen never waits.
    oneAtATime: settings.oneAtATime && !run.manual,
    windowClosingLeadMs: settings.windowClosingLeadMs,
    onWindowClosing: windowClosingEmitter(context, run, config.acceptSender),
    async handle(message) {
      // Every trigger on the bot sees every message: this one's filter decides (bot echoes too).
      if (closing.aborted || !config.accept(message)) return;
      // A test listen takes the first matching message; n8n then calls closeFunction.
      if (run.manual) {
        if (tookTestEvent) return;
        tookTestEvent = true;
      }
      try {
        await emit(message);
      } catch (error) {
        context.logger.warn(`WeChat iLink Trigger: could not emit message ${message.messageId}: ${(error as Error).message}`);
      }
    },
    onFatal: (error) => context.emitError(nodeErrorFor(context.getNode(), error)),
  };
}

/** Receives from now on; the returned function stops (the bot's poller stops with its last trigger). */
export function startReceiving(context: ITriggerFunctions, run: TriggerRun, receiver: MessageReceiver): () => Promise<void> {
  const workflow = context.getWorkflow();
  const owner = `n8n workflow ${workflow.id ?? ''} "${workflow.name ?? ''}"${run.manual ? ' (test listener)' : ''}`;
  return receiveFromBot(run.botKey, receiver, { client: run.client, owner });
}

function nodeErrorFor(node: INode, error: Error): Error {
  if (error instanceof SessionExpiredError) return new NodeOperationError(node, error.message, { description: RELOGIN_HINT });
  if (error instanceof PollerConflictError) {
    return new NodeOperationError(node, error.message, {
      description: 'Another n8n or Node-RED process receives messages for this bot. Stop it there, or give this workflow another bot.',
    });
  }
  return error;
}
