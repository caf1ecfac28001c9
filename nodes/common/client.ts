/** Builds the core client from the stored credential, the way every node here needs it. */
import type { Logger as N8nLogger } from 'n8n-workflow';
import { ILinkClient, type BotState, type StateStore } from '../../shared';
import { clientOptionsFrom, readCredentialFields } from '../../credentials/wechat-ilink-fields';
import { coreLoggerFor } from './host-logger';

export function createIlinkClient(
  credentials: Record<string, unknown>,
  host: { logger: N8nLogger; state?: StateStore | BotState; context?: Record<string, unknown> },
): ILinkClient {
  const options = clientOptionsFrom(readCredentialFields(credentials));
  return new ILinkClient({ ...options, state: host.state, logger: coreLoggerFor(host.logger, host.context) });
}
