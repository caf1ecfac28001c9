/** getuploadurl (§2, §7): validates the request, then lets the CDN authorize the upload. */
import type { GetUploadUrlRequest } from '../../shared/wire';
import { badParam, firstRefusal, requireHex32, requireNumber, requireString, type Body, type Refusal } from '../rules';
import { ok, type EndpointSpec } from './types';

/** Ciphertext size for AES-128 with PKCS#7: always 1–16 bytes of padding (§7). */
export function paddedSize(rawsize: number): number {
  return Math.ceil((rawsize + 1) / 16) * 16;
}

function checkStrictUpload(body: Body): Refusal | undefined {
  return firstRefusal(
    () => requireHex32(body, 'filekey'),
    () => requireHex32(body, 'aeskey'),
    () => requireHex32(body, 'rawfilemd5'),
    () => requireNumber(body, 'media_type', { integer: true, min: 1, max: 4 }),
    () => requireString(body, 'to_user_id', { nonEmpty: true }),
    () => requireNumber(body, 'rawsize', { integer: true, min: 0 }),
    () => requireNumber(body, 'filesize', { integer: true, min: 16 }),
    () => (body.filesize === paddedSize(body.rawsize as number) ? undefined : badParam('filesize must be ceil((rawsize+1)/16)*16')),
    () => (body.no_need_thumb === true ? undefined : badParam('no_need_thumb must be true')),
  );
}

function checkLenientUpload(body: Body): Refusal | undefined {
  return firstRefusal(
    () => requireString(body, 'filekey', { nonEmpty: true }),
    () => requireString(body, 'aeskey', { nonEmpty: true }),
    () => requireNumber(body, 'media_type'),
    () => requireString(body, 'to_user_id', { nonEmpty: true }),
    () => requireNumber(body, 'rawsize'),
    () => requireNumber(body, 'filesize'),
  );
}

export const getUploadUrl: EndpointSpec = {
  name: 'getUploadUrl',
  method: 'POST',
  auth: true,
  handle(call) {
    const { body, ctx } = call;
    const refusal = ctx.options.strict ? checkStrictUpload(body) : checkLenientUpload(body);
    if (refusal) return refusal;
    const request = body as unknown as GetUploadUrlRequest;
    const authorized = ctx.cdn.authorizeUpload(request);
    const answer: Record<string, unknown> = { ...authorized };
    if (ctx.apiScenario.uploadFullUrl) {
      answer.upload_full_url =
        `${ctx.urls.cdnBase()}/upload?encrypted_query_param=${encodeURIComponent(authorized.upload_param)}` + `&filekey=${encodeURIComponent(request.filekey)}`;
    }
    return ok(answer);
  },
};
