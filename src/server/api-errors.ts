// The one shape every error takes on the API and the file server: SRS's envelope
// `{ code, server, service, pid }` (code: the HTTP status, as SRS's HTTP errors carry it), plus a
// stable srs error code and a message that names the request. Fastify's own FST_ERR_* codes are
// mapped here and never reach a client.

export const ApiErrors = {
  SRS_ERR_API_BAD_REQUEST: { status: 400, text: 'bad request' },
  SRS_ERR_API_BAD_URL: { status: 400, text: 'malformed URL (bad percent-encoding)' },
  SRS_ERR_API_BAD_JSON: { status: 400, text: 'the body is not valid JSON' },
  SRS_ERR_API_BAD_RPC: { status: 400, text: 'rpc must be reload or reload-fetch' },
  SRS_ERR_API_UNAUTHORIZED: { status: 401, text: 'http_api.auth is enabled: send HTTP basic credentials' },
  SRS_ERR_API_RAW_DISABLED: { status: 403, text: 'http_api.raw_api is off: set `raw_api { enabled on; }` in http_api' },
  SRS_ERR_API_RELOAD_NOT_ALLOWED: { status: 403, text: 'http_api.raw_api.allow_reload is off' },
  SRS_ERR_API_NO_ROUTE: { status: 404, text: 'no such API route; see /api/v1/' },
  SRS_ERR_API_NO_FILE: { status: 404, text: 'no such file under http_server.dir' },
  SRS_ERR_API_NO_STREAM: { status: 404, text: 'no such stream; see /api/v1/streams' },
  SRS_ERR_API_NO_CLIENT: { status: 404, text: 'no such client; see /api/v1/clients' },
  SRS_ERR_API_METHOD: { status: 405, text: 'method not allowed' },
  SRS_ERR_API_TIMEOUT: { status: 408, text: 'the request did not arrive in time (headers and body are bounded)' },
  SRS_ERR_API_BODY_TOO_LARGE: { status: 413, text: 'request body too large' },
  SRS_ERR_API_HEADERS_TOO_LARGE: { status: 431, text: 'request headers too large' },
  SRS_ERR_API_MEDIA_TYPE: { status: 415, text: 'unsupported content-type' },
  SRS_ERR_API_INTERNAL: { status: 500, text: 'internal error (see the server log)' },
} as const;
export type ApiErrorCode = keyof typeof ApiErrors;

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
