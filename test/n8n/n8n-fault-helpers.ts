/** Small helpers shared by the n8n fault, crash and operations suites. */
import type { Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';
import type { N8nExecution, N8nInstance } from '../harness/n8n';
import { CREDENTIAL_TYPE, type CredentialRef } from './workflows';

/** A "WeChat iLink API" credential for a simulator bot, pointing at the simulator's API and CDN. */
export function simulatorCredential(n8n: N8nInstance, sim: Simulator, bot: BotInfo, name: string): Promise<CredentialRef> {
  return n8n.createCredential(name, CREDENTIAL_TYPE, {
    baseUrl: sim.apiBaseUrl,
    botToken: bot.token,
    botId: bot.botId,
    ownerUserId: bot.ownerUserId,
    showAdvanced: true,
    cdnBaseUrl: sim.cdnBaseUrl,
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something truthy; throws with `what` after the timeout. */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The text of a wire message (its text items joined). */
export function textOf(msg: { item_list?: Array<{ type?: number; text_item?: { text?: string } }> }): string {
  return (msg.item_list ?? [])
    .filter((item) => item.type === 1)
    .map((item) => item.text_item?.text ?? '')
    .join('');
}

/**
 * Every execution of a workflow (any status, crashed ones included), oldest first, following
 * the public API's cursor. With data, each carries the trigger's output.
 */
export async function allExecutions(n8n: N8nInstance, workflowId: string, includeData: boolean): Promise<N8nExecution[]> {
  const out: N8nExecution[] = [];
  let cursor: string | undefined;
  do {
    const page = await n8n.api<{ data: N8nExecution[]; nextCursor?: string | null }>(
      'GET',
      `/executions?workflowId=${encodeURIComponent(workflowId)}&includeData=${includeData}&limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out.sort((a, b) => Number(a.id) - Number(b.id));
}

/** The first item the named trigger node output in an execution (undefined if it has none). */
export function triggerItem(execution: N8nExecution, node = 'WeChat iLink Trigger'): Record<string, any> | undefined {
  return execution.data?.resultData?.runData?.[node]?.[0]?.data?.main?.[0]?.[0]?.json;
}
