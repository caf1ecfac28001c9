/** Builds the core client from the stored credential, the way every node here needs it. */
import type { Logger as N8nLogger } from 'n8n-workflow';
import { ILinkClient, type BotState, type StateStore } from '../../shared';
import { clientOptionsFrom, effectiveToken, readCredentialFields } from '../../credentials/wechat-ilink-fields';
import { botStateFor } from './bot-state';
import { coreLoggerFor } from './host-logger';

export function createILinkClient(
  credentials: Record<string, unknown>,
  host: { logger: N8nLogger; state?: StateStore | BotState; context?: Record<string, unknown> },
): ILinkClient {
  const options = clientOptionsFrom(readCredentialFields(credentials));
  return new ILinkClient({ ...options, state: host.state, logger: coreLoggerFor(host.logger, host.context) });
}

/**
 * The bot's state shared by every node of this n8n (nodes/common/bot-state.ts):
 * context tokens, reply windows and the outbox that the trigger keeps up to
 * date, also across restarts (a file under n8n's user folder; n8n's Redis in
 * queue mode). `legacy` is a trigger's old static-data state, which seeds a
 * state not yet written.
 */
export function sharedBotStateFor(credentials: Record<string, unknown>, logger: N8nLogger, legacy?: unknown): Promise<BotState> {
  const fields = readCredentialFields(credentials);
  return botStateFor(fields.botId || undefined, effectiveToken(fields), coreLoggerFor(logger), legacy);
}
