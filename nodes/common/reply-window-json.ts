/**
 * A user's reply window (§10) as n8n items show it: the core's window with
 * times as ISO strings and as ms, and how many sends wait in the outbox for
 * that user. The fields are always present (null when unknown), so that
 * expressions and IF nodes can rely on them.
 */
import type { IDataObject } from 'n8n-workflow';
import type { ILinkClient, ReplyWindow } from '../../shared';

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export function replyWindowJson(window: ReplyWindow, queued: number): IDataObject {
  return {
    userId: window.userId,
    open: window.open,
    known: window.known,
    sendsLeft: window.sendsLeft,
    closedBy: window.closedBy ?? null,
    lastInboundAt: iso(window.lastInboundAt),
    lastInboundAtMs: window.lastInboundAt ?? null,
    closesAt: iso(window.closesAt),
    closesAtMs: window.closesAt ?? null,
    queued,
  };
}

/** The user's window as the client's state knows it now, with their queued sends. */
export function currentReplyWindowJson(client: ILinkClient, userId: string): IDataObject {
  return replyWindowJson(client.replyWindow(userId), client.outbox(userId).length);
}
