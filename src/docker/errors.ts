// Errors of the docker trust layer (design principle 4): a stable code, docker's message, and a
// hint saying what to do next.

import { DtrustError, type ErrorFields } from '../errors.js';
import { describeError } from '../client/errors.js';
import { dockerPassphraseError } from './passphrases.js';

export type DockerErrorCode =
  /** The image reference does not parse (docker's `invalid reference format`, ...). */
  | 'INVALID_REFERENCE'
  /** A verb needs a tag (sign) or refuses a digest reference. */
  | 'TAG_REQUIRED'
  /** A signer or key name outside `^[a-z0-9][a-z0-9_-]*$`, or the reserved `releases`. */
  | 'INVALID_NAME'
  /** No role this machine holds a key for may sign the tag (docker: no valid signing keys...). */
  | 'NO_SIGNABLE_ROLE'
  /** The tag (or any tag) is not signed in the repository. */
  | 'NOT_SIGNED'
  /** A bad flag combination or value (--digest without --size, ...). */
  | 'USAGE'
  /** The registry's manifest cannot be signed (schema 1, wrong digest, unknown media type). */
  | 'MANIFEST'
  /** Public or private key files that cannot be used. */
  | 'KEY_FILE'
  /** A file that already exists or a directory that does not. */
  | 'FILE'
  /** The user said no, or nobody could be asked. */
  | 'CANCELLED'
  /** Several repositories failed (signer add/remove); each error was printed already. */
  | 'PARTIAL'
  /** The repository has no signer of that name. */
  | 'NO_SUCH_SIGNER'
  /** A step of a verb failed (docker's errors.Wrap): the message is prefixed, the error is the cause. */
  | 'WRAPPED';

export class DockerError extends DtrustError<DockerErrorCode> {
  constructor(code: DockerErrorCode, message: string, fields: ErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'DockerError';
  }
}

export function isDockerError(e: unknown, code?: DockerErrorCode): e is DockerError {
  return e instanceof DockerError && (code === undefined || e.code === code);
}

/**
 * docker's errors.Wrap: `prefix: message`, the hint of the error wrapped kept, key store messages
 * naming docker's passphrase variables.
 */
export function wrapError(e: unknown, prefix: string): DockerError {
  const inner = dockerPassphraseError(e);
  const { message, hint } = describeError(inner);
  return new DockerError('WRAPPED', `${prefix}: ${message}`, { hint: hint }, inner);
}
