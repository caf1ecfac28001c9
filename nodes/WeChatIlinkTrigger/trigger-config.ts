/** What the trigger reads once at activation: its settings and the core filters built from them. */
import { NodeOperationError, type ITriggerFunctions } from 'n8n-workflow';
import { createMessageFilter, pollerTimingsFromEnv, ValidationError, type Message } from '../../shared';
import type { IlinkCredentialFields } from '../../credentials/wechat-ilink-fields';
import { readTriggerSettings, type TriggerSettings } from './trigger-options';

export interface TriggerConfig {
  settings: TriggerSettings;
  accept: (message: Message) => boolean;
  /** The window-closing warning has no message: only the Senders setting applies to it. */
  acceptSender: (userId: string) => boolean;
}

/** Bad settings (a refused regex, an out-of-range number) fail the activation with the core's explanation. */
export function readTriggerConfig(context: ITriggerFunctions, fields: IlinkCredentialFields): TriggerConfig {
  try {
    const settings = readTriggerSettings(context, fields.ownerUserId || undefined);
    const accept = createMessageFilter(settings.filter);
    const { senders, allowList, ownerUserId } = settings.filter;
    const senderFilter = createMessageFilter({ senders, allowList, ownerUserId });
    const acceptSender = (userId: string) => senderFilter({ messageId: '', from: userId, to: '', kind: 'user', items: [], text: '' });
    // The bot's shared poller reads them too; a bad value fails this activation with the reason, not the poller later.
    pollerTimingsFromEnv();
    return { settings, accept, acceptSender };
  } catch (error) {
    throw new NodeOperationError(context.getNode(), error instanceof ValidationError ? error.message : (error as Error));
  }
}
