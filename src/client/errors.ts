// Errors of the workflows themselves (design principle 4): a stable code, the message, and a hint
// saying what to do next. Errors of the layers below pass through as they are; describeError
// reads any of them (the renderer in cli/, and the docker verbs that wrap them).

import { DtrustError, type ErrorFields } from '../errors.js';

export type ClientErrorCode =
  /** A key rotation would give a role fewer keys than its threshold. */
  | 'THRESHOLD'
  /** The connection dropped after an upload was sent: the server may or may not have applied it. */
  | 'UNKNOWN_OUTCOME'
  /** A role file that cannot be co-signed here. */
  | 'COSIGN';

export class ClientError extends DtrustError<ClientErrorCode> {
  constructor(code: ClientErrorCode, message: string, fields: ErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'ClientError';
  }
}

interface Described {
  message: string;
  hint?: string;
  code?: string;
}

/** Message, hint and code of an error: a DtrustError's, or the message (and errno code) of any other. */
export function describeError(e: unknown): Described {
  if (e instanceof DtrustError) return { message: e.message, hint: e.hint, code: e.code };
  if (!(e instanceof Error)) return { message: String(e) };
  const code = (e as { code?: unknown }).code;
  return { message: e.message, hint: undefined, code: typeof code === 'string' ? code : undefined };
}
