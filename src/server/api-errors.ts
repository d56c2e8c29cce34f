// The one shape every error takes on the API and the file server: SRS's envelope
// `{ code, server, service, pid }` (code: the HTTP status, as SRS's HTTP errors carry it), plus a
// stable srs error code and a message that names the request. Fastify's own FST_ERR_* codes are
// mapped here and never reach a client. Codes, statuses and texts live in the catalogue.
import { CATALOGUE, type ApiErrorCode, type ApiErrorEntry, type CatalogueCode } from '../errors';

/** The API's entries of the catalogue (src/errors.ts): status and text by code. */
export const ApiErrors = Object.fromEntries(
  (Object.keys(CATALOGUE) as CatalogueCode[])
    .map((code) => [code, CATALOGUE[code]] as const)
    .filter((kv): kv is [ApiErrorCode, ApiErrorEntry & (typeof CATALOGUE)[ApiErrorCode]] => kv[1].kind === 'api')
    .map(([code, e]) => [code, { status: e.status, text: e.template }]),
) as { readonly [K in ApiErrorCode]: { readonly status: number; readonly text: string } };
export type { ApiErrorCode };

export interface ApiErrorBody {
  /** the HTTP status */
  code: number;
  server: string;
  service: string;
  pid: string;
  /** stable srs error code, one of {@link ApiErrors} */
  error: ApiErrorCode;
  /** `METHOD /path: what went wrong` */
  message: string;
}

/** A URL echoed in a message is cut here: the message names the request, it does not mirror it. */
const MAX_URL_IN_MESSAGE = 256;

export function requestName(method: string, url: string): string {
  const u = url.length > MAX_URL_IN_MESSAGE ? `${url.slice(0, MAX_URL_IN_MESSAGE)}...` : url;
  return `${method} ${u}`;
}

/** The body of an error answer. `detail`, when given, replaces the catalogue's text. */
export function apiErrorBody(serverId: string, code: ApiErrorCode, method: string, url: string, detail?: string): ApiErrorBody {
  return {
    code: ApiErrors[code].status,
    server: serverId,
    service: serverId,
    pid: String(process.pid),
    error: code,
    message: `${requestName(method, url)}: ${detail ?? ApiErrors[code].text}`,
  };
}

/** fastify's error codes, and what a client is told instead. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_BAD_URL: 'SRS_ERR_API_BAD_URL',
  FST_ERR_CTP_BODY_TOO_LARGE: 'SRS_ERR_API_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SRS_ERR_API_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SRS_ERR_API_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SRS_ERR_API_BAD_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SRS_ERR_API_BAD_REQUEST',
  FST_ERR_VALIDATION: 'SRS_ERR_API_BAD_REQUEST',
};

/**
 * Which catalogue entry an error thrown inside fastify becomes. A 4xx fastify does not name here
 * is a bad request; anything else is internal (its details go to the log, not to the client).
 */
export function classifyError(error: { statusCode?: number; code?: string }): ApiErrorCode {
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) return known;
  // JSON.parse's SyntaxError, as fastify's parser rethrows it with a 400
  if (error.statusCode === 400) return 'SRS_ERR_API_BAD_REQUEST';
  if (error.statusCode === 413) return 'SRS_ERR_API_BODY_TOO_LARGE';
  if (error.statusCode === 415) return 'SRS_ERR_API_MEDIA_TYPE';
  if (error.statusCode === 404) return 'SRS_ERR_API_NO_ROUTE';
  if (error.statusCode === 405) return 'SRS_ERR_API_METHOD';
  if (error.statusCode === 401) return 'SRS_ERR_API_UNAUTHORIZED';
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return 'SRS_ERR_API_BAD_REQUEST';
  return 'SRS_ERR_API_INTERNAL';
}

/**
 * What node's HTTP parser reports before any request exists (a malformed request line, headers too
 * large, a request that took longer than the bound): the code, and the answer as raw bytes, since
 * there is no request object to answer through. Source: node's http server `clientError`.
 */
export function clientErrorResponse(serverId: string, errorCode: string | undefined): { code: ApiErrorCode; bytes: string } {
  const code: ApiErrorCode =
    errorCode === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'SRS_ERR_API_TIMEOUT'
      : errorCode === 'HPE_HEADER_OVERFLOW'
        ? 'SRS_ERR_API_HEADERS_TOO_LARGE'
        : 'SRS_ERR_API_BAD_REQUEST';
  const status = ApiErrors[code].status;
  const reason = status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  const body = JSON.stringify({
    code: status,
    server: serverId,
    service: serverId,
    pid: String(process.pid),
    error: code,
    message: `(request not parsed): ${ApiErrors[code].text}${errorCode && code === 'SRS_ERR_API_BAD_REQUEST' ? ` (${errorCode})` : ''}`,
  });
  const bytes = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  return { code, bytes };
}
