/** Turns ilink-in's editor fields into the core's message filter options. */
import { FILTERABLE_KINDS, type FilterableKind, type MessageFilterOptions } from '../../shared';

export interface InboundFilterFields {
  /** Item kinds to pass; empty = all. An array, or a comma-separated string. */
  kinds?: string[] | string;
  senders?: 'everyone' | 'owner' | 'list';
  /** User IDs separated by commas, spaces or new lines. */
  allowList?: string;
  textMode?: 'contains' | 'regex';
  textPattern?: string;
  /** Whether the text match tells upper and lower case apart (default: it does not). */
  caseSensitive?: boolean;
  /** Copies of the bot's own sends (message_type BOT): 'ignore' (default) or 'include'. */
  botEchoes?: 'ignore' | 'include';
}

export function parseKinds(kinds: InboundFilterFields['kinds']): FilterableKind[] {
  const list = Array.isArray(kinds) ? kinds : typeof kinds === 'string' ? kinds.split(/[\s,]+/) : [];
  return list.filter((kind): kind is FilterableKind => (FILTERABLE_KINDS as readonly string[]).includes(kind));
}

export function parseAllowList(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,;]+/).map((id) => id.trim()).filter(Boolean);
}

export function filterOptionsOf(fields: InboundFilterFields, ownerUserId: string | undefined): MessageFilterOptions {
  return {
    kinds: parseKinds(fields.kinds),
    senders: fields.senders ?? 'everyone',
    allowList: parseAllowList(fields.allowList),
    ownerUserId,
    ignoreBotEchoes: fields.botEchoes !== 'include',
    textMatch: fields.textPattern
      ? { mode: fields.textMode === 'regex' ? 'regex' : 'contains', pattern: fields.textPattern, caseSensitive: fields.caseSensitive === true }
      : undefined,
  };
}
