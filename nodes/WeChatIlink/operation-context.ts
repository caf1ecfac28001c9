/** What every operation gets: n8n's context, the item, and the core client (built on first use). */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import type { ILinkClient } from '../../shared';

export interface OperationContext {
  exec: IExecuteFunctions;
  itemIndex: number;
  item: INodeExecutionData;
  /** The core client for this credential; throws when the credential has no token. */
  client(): Promise<ILinkClient>;
}

export type OperationResult = INodeExecutionData | INodeExecutionData[];

export type Operation = (ctx: OperationContext) => Promise<OperationResult>;
