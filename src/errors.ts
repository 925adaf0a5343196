// The root of dtrust's error tree (design principle 4). Every error raised on purpose is a
// DtrustError: a stable `code` from its layer's union, the message, a `hint` saying what to do
// next, the `cause`, and the layer's typed `fields` (role, gun, path, url, ...). Each layer has
// its subclass (TrustError, KeyStoreError, StorageError, RemoteError, ConfigError, DockerError,
// CliError, ...), all built the same way: new X(code, message, fields, cause). The CLI's one
// renderer reads this shape and nothing else. This file sits below every layer and imports
// nothing.

/** What every error may carry besides its code and message; each layer adds its own fields. */
export interface ErrorFields {
  /** What the user can do about it (the renderer's `hint:` line). */
  hint?: string | undefined;
}

export class DtrustError<Code extends string = string, Fields extends ErrorFields = ErrorFields> extends Error {
  readonly code: Code;
  readonly hint: string | undefined;
  readonly fields: Fields;

  constructor(code: Code, message: string, fields: Fields, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.hint = fields.hint;
    this.fields = fields;
  }
}
