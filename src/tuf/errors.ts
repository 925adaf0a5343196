// One error tree for the engine (design principle 4): a stable code, structured fields, a cause.

import { DtrustError } from '../errors.js';

export type TrustErrorCode =
  | 'JSON_SYNTAX'
  | 'JSON_DUPLICATE_KEY'
  | 'CANONICAL_UNSUPPORTED'
  | 'METADATA_INVALID'
  | 'WRONG_TYPE'
  | 'BAD_VERSION'
  | 'BAD_EXPIRES'
  | 'UNKNOWN_KEY_TYPE'
  | 'BAD_KEY'
  | 'BAD_SIGNATURE'
  | 'THRESHOLD_NOT_MET'
  | 'INVALID_THRESHOLD'
  | 'ROLLBACK'
  | 'EXPIRED'
  | 'HASH_MISMATCH'
  | 'LENGTH_MISMATCH'
  | 'MISSING_HASH'
  | 'TOO_LARGE'
  | 'MISSING_META'
  | 'ROOT_CHAIN_BROKEN'
  | 'ROOT_CERT_INVALID'
  | 'TRUST_PINNING'
  | 'INVALID_ROLE_NAME'
  | 'NOT_DIRECT_CHILD'
  | 'PATH_NOT_DELEGATED'
  | 'VERSION_OVERFLOW'
  | 'ROLE_NOT_FOUND'
  | 'NO_SIGNING_KEY';

export interface TrustErrorFields {
  role?: string;
  gun?: string;
  field?: string;
  found?: number | string;
  needed?: number | string;
  keyIds?: string[];
  /** What the user can do about it, when the engine knows. */
  hint?: string;
}

export class TrustError extends DtrustError<TrustErrorCode, TrustErrorFields> {
  constructor(code: TrustErrorCode, message: string, fields: TrustErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'TrustError';
  }

  get role(): string | undefined {
    return this.fields.role;
  }
}

export function isTrustError(e: unknown, code?: TrustErrorCode): e is TrustError {
  return e instanceof TrustError && (code === undefined || e.code === code);
}
