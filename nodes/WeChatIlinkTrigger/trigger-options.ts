/** The trigger's parameters, read once at activation into the core filter's options. */
import type { ITriggerFunctions } from 'n8n-workflow';
import { FILTERABLE_KINDS, type FilterableKind, type MessageFilterOptions } from '../../shared';

export interface TriggerSettings {
  filter: MessageFilterOptions;
  downloadMedia: boolean;
  binaryPropertyName: string;
  typingIndicator: boolean;
  /** Wait for each message's execution to finish before emitting the next. */
  oneAtATime: boolean;
}

interface TriggerOptionsParameter {
  ignoreBotEchoes?: boolean;
  textMatchMode?: 'none' | 'contains' | 'regex';
  textPattern?: string;
  caseSensitive?: boolean;
  downloadMedia?: boolean;
  binaryPropertyName?: string;
  typingIndicator?: boolean;
  processing?: 'oneAtATime' | 'parallel';
}

export function splitUserIds(value: string): string[] {
  return value
    .split(/[\s,;]+/)
    .map((id) => id.trim())
    .filter(Boolean);
}

export function readTriggerSettings(context: ITriggerFunctions, ownerUserId: string | undefined): TriggerSettings {
  const kinds = (context.getNodeParameter('messageTypes', []) as string[]).filter((k): k is FilterableKind =>
    (FILTERABLE_KINDS as readonly string[]).includes(k),
  );
  const senders = context.getNodeParameter('senders', 'everyone') as 'everyone' | 'owner' | 'list';
  const allowList = senders === 'list' ? splitUserIds(context.getNodeParameter('allowList', '') as string) : [];
  const options = context.getNodeParameter('options', {}) as TriggerOptionsParameter;
  const mode = options.textMatchMode ?? 'none';
  return {
    filter: {
      kinds,
      senders,
      allowList,
      ownerUserId,
      ignoreBotEchoes: options.ignoreBotEchoes !== false,
      textMatch: mode === 'none' || !options.textPattern ? undefined : { mode, pattern: options.textPattern, caseSensitive: options.caseSensitive === true },
    },
    downloadMedia: options.downloadMedia === true,
    binaryPropertyName: options.binaryPropertyName?.trim() || 'data',
    typingIndicator: options.typingIndicator === true,
    oneAtATime: options.processing !== 'parallel',
  };
}
