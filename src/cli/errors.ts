// The one error renderer (design principle 4): every error becomes one `* fatal:` line saying
// what went wrong and, when known, one `hint:` line saying what to do next.

import { goFileError } from '../fs/errno.js';

export class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An error that carries a stable code and a hint for the user. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A file error as notary prints it (`open <name>: no such file or directory`); other errors as they are. */
export function openError(e: unknown, shown: string): unknown {
  if (typeof (e as NodeJS.ErrnoException | undefined)?.code !== 'string') return e;
  return new CliError('FILE', goFileError(e, shown), undefined, { cause: e });
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

/** True for errors dtrust raised on purpose; anything else is a bug and gets its stack in -D. */
export function isExpected(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}
