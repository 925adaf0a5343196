// Typed configuration errors (design principle 4): a stable code, the file and key concerned,
// and a hint. Messages that notary also prints keep notary's wording.

import { DtrustError } from '../errors.js';

export type ConfigErrorCode =
  /** `-c FILE` does not exist. */
  | 'CONFIG_NOT_FOUND'
  /** The config file exists but cannot be read (permissions, a directory, too large). */
  | 'CONFIG_UNREADABLE'
  /** The config file's extension is not one dtrust reads (JSON only). */
  | 'CONFIG_UNSUPPORTED_TYPE'
  /** The config file is not valid JSON, or its top level is not an object. */
  | 'CONFIG_SYNTAX'
  /** A key holds a value of the wrong shape (e.g. `invalid format for trust_pinning.certs`). */
  | 'CONFIG_INVALID_VALUE'
  /** A path starts with `~` but HOME is not set. */
  | 'HOME_UNSET'
  /** The working directory given to loadConfig is not absolute (a caller bug). */
  | 'BAD_CWD';

export interface ConfigErrorFields {
  /** The config file (absolute) or other path concerned. */
  path?: string;
  /** The config key concerned, e.g. `trust_pinning.certs`. */
  key?: string;
  /** 1-based position of a JSON syntax error. */
  line?: number;
  column?: number;
  hint?: string;
}

export class ConfigError extends DtrustError<ConfigErrorCode, ConfigErrorFields> {
  readonly path: string | undefined;
  readonly key: string | undefined;

  constructor(code: ConfigErrorCode, message: string, fields: ConfigErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'ConfigError';
    this.path = fields.path;
    this.key = fields.key;
  }
}

export function isConfigError(e: unknown, code?: ConfigErrorCode): e is ConfigError {
  return e instanceof ConfigError && (code === undefined || e.code === code);
}
