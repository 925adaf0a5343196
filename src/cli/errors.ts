// The one error renderer (design principle 4): every error becomes one `* fatal:` line saying
// what went wrong and, when known, one `hint:` line saying what to do next.

import { DtrustError, type ErrorFields } from '../errors.js';
import { goFileError } from '../fs/errno.js';

/** A command line that cannot be run as given; the command's usage is printed above the error. */
export class UsageError extends DtrustError<'USAGE'> {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
    super('USAGE', message, {});
    this.name = 'UsageError';
  }
}

/**
 * An error of the command layer. Its code is one of the CLI's own (BAD_INPUT, INVALID_ROLE, ...)
 * or, when it re-words an error of a lower layer (docker's errors.Wrap, key generation), that
 * error's code: hence a string, not a closed union.
 */
export class CliError extends DtrustError<string> {
  constructor(code: string, message: string, fields: ErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'CliError';
  }
}

/** A file error as notary prints it (`open <name>: no such file or directory`); other errors as they are. */
export function openError(e: unknown, shown: string): unknown {
  if (typeof (e as NodeJS.ErrnoException | undefined)?.code !== 'string') return e;
  return new CliError('FILE', goFileError(e, shown), {}, e);
}

/** True for errors dtrust raised on purpose; anything else is a bug and gets its stack in -D. */
export function isExpected(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}
