// Errors of the workflows themselves (design principle 4): a stable code, the message, and a hint
// saying what to do next. Errors of the layers below pass through as they are; describeError
// reads any of them (the renderer in cli/, and the docker verbs that wrap them).

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

interface Described {
  message: string;
  hint?: string;
  code?: string;
}

/** Message, hint and code of any error thrown by a layer (each carries `code` and a `hint`). */
export function describeError(e: unknown): Described {
  if (!(e instanceof Error)) return { message: String(e) };
  const any = e as Error & { code?: unknown; hint?: unknown; fields?: { hint?: unknown } };
  const hint = typeof any.hint === 'string' ? any.hint : typeof any.fields?.hint === 'string' ? any.fields.hint : undefined;
  const code = typeof any.code === 'string' ? any.code : undefined;
  return { message: e.message, hint, code };
}
