// Errors of the workflows themselves (design principle 4): a stable code, the message, and a hint
// saying what to do next. Errors of the layers below pass through as they are.

export type ClientErrorCode =
  /** A key rotation would give a role fewer keys than its threshold. */
  | 'THRESHOLD'
  /** The connection dropped after an upload was sent: the server may or may not have applied it. */
  | 'UNKNOWN_OUTCOME'
  /** A role file that cannot be co-signed here. */
  | 'COSIGN';

export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClientError';
  }
}
