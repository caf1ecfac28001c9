/** The trigger's parameters, read once at activation into the core filter's options. */
import type { ITriggerFunctions } from 'n8n-workflow';
import { FILTERABLE_KINDS, ValidationError, type FilterableKind, type MessageFilterOptions } from '../../shared';

export interface TriggerSettings {
  filter: MessageFilterOptions;
  downloadMedia: boolean;
  binaryPropertyName: string;
  typingIndicator: boolean;
  /** Wait for each message's execution to finish before emitting the next. */
  oneAtATime: boolean;
  /** Emit a "windowClosing" item this long before a user's reply window closes; 0: off. */
  windowClosingLeadMs: number;
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
  windowClosingMinutes?: number;
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
    windowClosingLeadMs: windowClosingLeadMs(options.windowClosingMinutes),
  };
}

/** The reply window lasts 24 h (§10): a warning can come at most that long before it closes. */
export const MAX_WINDOW_CLOSING_MINUTES = 24 * 60;

function windowClosingLeadMs(minutes: unknown): number {
  if (minutes === undefined || minutes === null || minutes === '') return 0;
  const value = Number(minutes);
  if (!Number.isFinite(value) || value < 0 || value > MAX_WINDOW_CLOSING_MINUTES) {
    throw new ValidationError(`"Window Closing Warning (Minutes Before)" must be between 0 (off) and ${MAX_WINDOW_CLOSING_MINUTES} minutes, got ${String(minutes)}`);
  }
  return Math.round(value * 60_000);
}
