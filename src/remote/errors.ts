// The remote layer's error type (design principle 4): a stable code, the request URL without
// credentials, the HTTP status when there was one, the parsed server error for 400s, and a hint
// saying what the user can do next. Messages never contain credentials or tokens (SEC-F7), and
// every string that came from the server is sanitised before it is put into a message (SEC-N2).

import { DtrustError } from '../errors.js';

export type RemoteErrorCode =
  /** Network unreachable, connection refused, DNS failure, connection reset before any answer. */
  | 'OFFLINE'
  /** TLS handshake or certificate verification failed. Never reported as OFFLINE. */
  | 'TLS'
  /** 401 after every authentication attempt, or the token server refused us. */
  | 'UNAUTHORIZED'
  /** 404. */
  | 'NOT_FOUND'
  /** 400: the server rejected the request; `serverError` holds its parsed error. */
  | 'REJECTED'
  /** 5xx, 3xx and any other unexpected status. */
  | 'SERVER_ERROR'
  /** Body larger than allowed, truncated, or not what the endpoint returns. */
  | 'BAD_RESPONSE'
  /** Connect, idle (between bytes) or overall deadline exceeded. */
  | 'TIMEOUT'
  /** Bad server URL, GUN or role name, unreadable TLS files, cert without key, bad NOTARY_AUTH. */
  | 'CONFIG'
  /** The connection dropped after a POST/DELETE was sent: it may or may not have taken effect. */
  | 'UNKNOWN_OUTCOME';

/** One entry of notary-server's `{"errors":[{code,message,detail}]}` body (formats.md §6). */
export interface ServerError {
  /** e.g. `INVALID_UPDATE`, `VERSION`, `METADATA_NOT_FOUND`. */
  code: string;
  /** The server's message, sanitised. */
  message: string;
  /** The raw `detail` value (parsed JSON), if present. */
  detail?: unknown;
  /** `detail.Name` for validation errors, e.g. `ErrBadRoot`. */
  detailName?: string;
  /** `detail.Error.Msg` for validation errors, sanitised. */
  detailMsg?: string;
  /** `detail.Error.Missing` for `ErrBadHierarchy`. */
  detailMissing?: string;
}

export interface RemoteErrorFields {
  status?: number;
  /** The URL the failing request went to, without user info, or the server URL. */
  url: string;
  serverError?: ServerError;
  /** All errors of a 400 body (the first one is `serverError`). */
  serverErrors?: ServerError[];
  /** What the user should do next. */
  hint?: string;
  /** What was being fetched or sent: `timestamp`, `snapshot.<hex>`, `timestamp key`, `POST metadata endpoint`. */
  resource?: string;
}

export class RemoteError extends DtrustError<RemoteErrorCode, RemoteErrorFields> {
  /** Every remote error has a hint: the code's default when the caller gave none. */
  declare readonly hint: string;
  readonly status: number | undefined;
  readonly url: string;
  readonly serverError: ServerError | undefined;
  readonly serverErrors: ServerError[] | undefined;
  readonly resource: string | undefined;

  constructor(code: RemoteErrorCode, message: string, fields: RemoteErrorFields, cause?: unknown) {
    super(code, message, { ...fields, hint: fields.hint ?? defaultHint(code) }, cause);
    this.name = 'RemoteError';
    this.status = fields.status;
    this.url = fields.url;
    this.serverError = fields.serverError;
    this.serverErrors = fields.serverErrors;
    this.resource = fields.resource;
  }
}

export function isRemoteError(e: unknown, code?: RemoteErrorCode): e is RemoteError {
  return e instanceof RemoteError && (code === undefined || e.code === code);
}

/** notary's exact texts (storage/httpstore.go), reused by callers and tests. */
export const MESSAGES = {
  unauthorized: 'you are not authorized to perform this operation: server returned 401.',
  badResponse: 'trust server returned a bad response.',
  rejected: 'trust server rejected operation.',
  serverError: (status: number): string => `unable to reach trust server at this time: ${status}.`,
  notFound: (resource: string): string => `${resource} trust data unavailable.  Has a notary repository been initialized?`,
} as const;

function defaultHint(code: RemoteErrorCode): string {
  switch (code) {
    case 'OFFLINE':
      return 'check the server URL (-s / remote_server.url) and that the server is running and reachable';
    case 'TLS':
      return 'if the server uses a private CA, pass it with --tlscacert (remote_server.root_ca)';
    case 'UNAUTHORIZED':
      return 'set NOTARY_AUTH to the base64 of <username>:<password>, or log in with `docker login <server>`';
    case 'NOT_FOUND':
      return 'check the GUN; the repository may not have been initialized and published yet';
    case 'REJECTED':
      return 'the server refused the request; see its error above';
    case 'SERVER_ERROR':
      return 'the server had a problem; try again later, and check that -s points at a notary server';
    case 'BAD_RESPONSE':
      return 'the server sent something that is not what a notary server sends; check -s, or try again';
    case 'TIMEOUT':
      return 'the server is too slow or unreachable; try again, or raise the timeouts';
    case 'CONFIG':
      return 'fix the configuration named above';
    case 'UNKNOWN_OUTCOME':
      return 'the request may or may not have taken effect; run the command again (it is safe to repeat)';
  }
}

// Anything from the server (or the environment) that goes into a message: no control characters
// (a hostile server must not drive the user's terminal), bounded length.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function sanitize(s: string, max = 512): string {
  const clean = s.replace(CONTROL, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
