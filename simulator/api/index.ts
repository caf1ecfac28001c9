/** The endpoint table (§2): path → spec. */
import { Endpoint, type EndpointName } from '../../shared/wire';
import { getBotQrcode, getQrcodeStatus } from './login';
import { recallMessage, sendMessage } from './messages';
import { notifyStart, notifyStop } from './notify';
import { getUpdates } from './updates';
import { getUploadUrl } from './upload';
import { getConfig, sendTyping } from './typing';
import type { EndpointSpec } from './types';

export const ENDPOINTS: Record<EndpointName, EndpointSpec> = {
  getBotQrcode,
  getQrcodeStatus,
  getUpdates,
  sendMessage,
  getUploadUrl,
  getConfig,
  sendTyping,
  notifyStart,
  notifyStop,
  recallMessage,
};

const BY_PATH = new Map<string, EndpointSpec>(Object.entries(Endpoint).map(([name, path]) => [`/${path}`, ENDPOINTS[name as EndpointName]]));

/** `relativePath` is the path after the base path, e.g. '/ilink/bot/getupdates'. */
export function endpointForPath(relativePath: string): EndpointSpec | undefined {
  return BY_PATH.get(relativePath);
}
