/** The trigger's core poller: which messages it hands over, how many at once, and how it starts. */
import { NodeOperationError, type ITriggerFunctions } from 'n8n-workflow';
import { DEFAULT_CONCURRENCY, SessionExpiredError, type Poller } from '../../shared';
import { RELOGIN_HINT } from '../common/node-errors';
import type { TriggerConfig } from './trigger-config';
import { messageEmitter, windowClosingEmitter } from './trigger-listener';
import type { TriggerRun } from './trigger-state';

export function createTriggerPoller(context: ITriggerFunctions, run: TriggerRun, config: TriggerConfig, closing: AbortSignal): Poller {
  const { settings } = config;
  const workflow = context.getWorkflow();
  const owner = `n8n workflow ${workflow.id ?? ''} "${workflow.name ?? ''}"${run.manual ? ' (test listener)' : ''}`;
  return run.client.createPoller(messageEmitter(context, run, settings, closing), {
    owner,
    timings: config.timings,
    accept: config.accept,
    includeBotMessages: settings.filter.ignoreBotEchoes === false,
    // One at a Time: one execution at a time, all users (n8n stalls on a backlog run at once).
    concurrency: settings.oneAtATime && !run.manual ? 1 : DEFAULT_CONCURRENCY,
    onSessionExpired: 'stop',
    windowClosing: settings.windowClosingLeadMs > 0 ? { leadMs: settings.windowClosingLeadMs, onClosing: windowClosingEmitter(context, run, config.acceptSender) } : undefined,
    onError: (error, info) => {
      // Poll failures follow the core's backoff and are logged by it; no execution per failure.
      if (info.source === 'handler') context.logger.warn(`WeChat iLink Trigger: could not emit message ${info.message?.messageId}: ${error.message}`);
    },
  });
}

/**
 * Starts receiving. start() claims the bot synchronously: a second active trigger on this
 * bot fails here, at activation; what ends the polling later is reported through emitError.
 */
export function startPolling(context: ITriggerFunctions, poller: Poller): void {
  const node = context.getNode();
  let started: Promise<void>;
  try {
    started = poller.start();
  } catch (error) {
    throw new NodeOperationError(node, (error as Error).message, {
      description: 'Only one WeChat iLink Trigger may receive messages for a bot. Deactivate the other workflow, or give this one another bot.',
    });
  }
  started.catch((error: unknown) => {
    if (error instanceof SessionExpiredError) {
      context.emitError(new NodeOperationError(node, error.message, { description: RELOGIN_HINT }));
      return;
    }
    context.emitError(error instanceof Error ? error : new Error(String(error)));
  });
}
