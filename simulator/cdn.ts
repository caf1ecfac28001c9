/**
 * The simulator's CDN (§7): POST /c2c/upload and GET /c2c/download, storing
 * ciphertext. STUB: the interface is fixed; the implementation is in progress.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GetUploadUrlRequest } from '../shared/wire';

export type CdnFaultKind = 'status500' | 'noEncryptedParam' | 'status4xx' | 'truncatedBody' | 'slowBody';

export interface CdnFault {
  op: 'upload' | 'download';
  kind: CdnFaultKind;
  /** How many requests the fault applies to (default 1). */
  count?: number;
  /** HTTP status for status4xx (default 400). */
  status?: number;
  /** x-error-message for status4xx. */
  message?: string;
  /** Delay between body chunks for slowBody. */
  delayMs?: number;
}

export interface StoredObject {
  encryptQueryParam: string;
  ciphertext: Buffer;
  /** Set for uploads made through getuploadurl. */
  upload?: { filekey: string; aeskeyHex: string; rawsize: number; rawfilemd5: string; mediaType: number; toUserId: string };
}

export class SimCdn {
  constructor(readonly options: { strict: boolean; maxBytes?: number }) {}

  /** Called by the API's getuploadurl after it validated the body: remembers the allowed upload. */
  authorizeUpload(_request: GetUploadUrlRequest): { upload_param: string } {
    throw new Error('SimCdn.authorizeUpload: not implemented yet');
  }

  /** Stores ciphertext the simulator itself made (media a simulated user sends); returns its encrypt_query_param. */
  storeObject(_ciphertext: Buffer): string {
    throw new Error('SimCdn.storeObject: not implemented yet');
  }

  readObject(_encryptQueryParam: string): StoredObject | undefined {
    return undefined;
  }

  injectFault(_fault: CdnFault): void {
    throw new Error('SimCdn.injectFault: not implemented yet');
  }

  /** Handles a request whose path, after the simulator's base path, starts with /c2c/. */
  async handle(_req: IncomingMessage, res: ServerResponse, _pathname: string, _query: URLSearchParams): Promise<void> {
    res.statusCode = 501;
    res.end('CDN not implemented yet');
  }

  reset(): void {}
}
