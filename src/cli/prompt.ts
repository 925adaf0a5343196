// Terminal input for passphrases and yes/no questions (SEC-F6):
//  - passphrases only from a terminal, read in raw mode without echo (notary uses
//    term.ReadPassword); never from a pipe, so nothing ever hangs waiting for a typed secret;
//  - yes/no answers and menu choices from stdin whatever it is (`echo yes | dtrust key remove`).
// Prompts go to stdout, as notary writes them.

import type { PromptIO } from '../keystore/passphrase.js';
import { CliError } from './errors.js';
import { interrupt, notePrompt } from './interrupt.js';
import { stdout } from './stdio.js';

type Input = NodeJS.ReadStream;
type Output = { write(s: string): unknown };

export class TerminalPrompt implements PromptIO {
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;
  private afterCR = false;

  constructor(
    private readonly source?: Input,
    private readonly output: Output = stdout,
  ) {}

  /** process.stdin is opened on first use: most commands never read it. */
  private get input(): Input {
    return this.source ?? process.stdin;
  }

  get interactive(): boolean {
    return this.input.isTTY === true && typeof this.input.setRawMode === 'function';
  }

  write(text: string): void {
    this.output.write(text);
  }

  /** Waits for more input; false at end of input. */
  private more(): Promise<boolean> {
    if (this.ended) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onData = (chunk: Buffer | string): void => {
        cleanup();
        const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        const joined = Buffer.concat([this.pending, c]);
        this.pending.fill(0);
        c.fill(0);
        this.pending = joined;
        resolve(true);
      };
      const onEnd = (): void => {
        cleanup();
        this.ended = true;
        resolve(false);
      };
      const cleanup = (): void => {
        this.input.off('data', onData);
        this.input.off('end', onEnd);
        this.input.off('close', onEnd);
        this.input.off('error', onEnd);
        this.input.pause();
      };
      this.input.on('data', onData);
      this.input.once('end', onEnd);
      this.input.once('close', onEnd);
      this.input.once('error', onEnd);
      this.input.resume();
    });
  }

  private take(n: number): Buffer {
    const head = Buffer.from(this.pending.subarray(0, n));
    const rest = Buffer.from(this.pending.subarray(n));
    this.pending.fill(0);
    this.pending = rest;
    return head;
  }

  /**
   * Reads one line with echo off (raw mode). Backspace and Ctrl-U edit, Ctrl-C interrupts the
   * process as it would in a normal terminal, Ctrl-D on an empty line is end of input (null).
   */
  async readSecret(prompt: string): Promise<Buffer | null> {
    if (!this.interactive) return null;
    // Echo goes off before the prompt appears, so that nothing typed early is echoed.
    this.input.setRawMode(true);
    notePrompt(this.input);
    this.output.write(prompt);
    const typed: number[] = [];
    try {
      for (;;) {
        if (this.pending.length === 0 && !(await this.more())) return typed.length > 0 ? Buffer.from(typed) : null;
        const b = this.take(1)[0]!;
        if (this.afterCR && b === 0x0a) {
          this.afterCR = false;
          continue;
        }
        this.afterCR = false;
        if (b === 0x0d || b === 0x0a) {
          this.afterCR = b === 0x0d;
          return Buffer.from(typed);
        }
        if (b === 0x03) {
          // As the terminal would have sent SIGINT: restore it, end the line, say so, exit.
          interrupt('SIGINT');
        }
        if (b === 0x04) {
          if (typed.length === 0) return null;
          continue;
        }
        if (b === 0x7f || b === 0x08) {
          typed.pop();
          // Drop a whole UTF-8 sequence.
          while (typed.length > 0 && (typed[typed.length - 1]! & 0xc0) === 0x80) typed.pop();
          if (typed.length > 0 && (typed[typed.length - 1]! & 0xc0) === 0xc0) typed.pop();
          continue;
        }
        if (b === 0x15) {
          typed.fill(0);
          typed.length = 0;
          continue;
        }
        typed.push(b);
      }
    } finally {
      typed.fill(0);
      if (this.input.isTTY) this.input.setRawMode(false);
      notePrompt(undefined);
      this.output.write('\n');
    }
  }

  /** Reads one line from stdin (terminal or not), without its line end; null at end of input. */
  async readLine(): Promise<string | null> {
    for (;;) {
      let nl = this.pending.indexOf(0x0a);
      if (this.afterCR && this.pending.length > 0) {
        this.afterCR = false;
        if (this.pending[0] === 0x0a) {
          this.take(1);
          nl = this.pending.indexOf(0x0a);
        }
      }
      if (nl >= 0) {
        const line = this.take(nl + 1).toString('utf8');
        return line.replace(/\r?\n$/, '');
      }
      if (!(await this.more())) {
        if (this.pending.length === 0) return null;
        return this.take(this.pending.length).toString('utf8').replace(/\r$/, '');
      }
    }
  }
}

/**
 * notary's askConfirm: one whitespace-free token, `y` or `yes` in any case. Anything else,
 * several words, or end of input is a no.
 */
export function isYes(answer: string | null): boolean {
  if (answer === null) return false;
  const t = answer.trim();
  if (t === '' || /\s/.test(t)) return false;
  const l = t.toLowerCase();
  return l === 'y' || l === 'yes';
}

/** What a confirming command passes to `confirm`. */
export interface Question {
  /** The flag that answers yes without the question (`--yes`). */
  flag: string;
  /** What the command does once confirmed, for the error (`remove the key`). */
  action: string;
  /** The command line that answers through a pipe (`echo yes | dtrust key remove ID`). */
  piped: string;
  /** The answer rule: notary's isYes unless given. */
  yes?: (answer: string | null) => boolean;
}

/**
 * Reads the answer to a question already printed. An answer piped in is honoured as notary does
 * (`echo yes | notary key remove ID`); end of input without a terminal is not a "no" but an error
 * naming the flag, so that a CI script does not get `Aborting action.` and exit 0 (issue 18).
 */
export async function confirm(prompt: { readLine(): Promise<string | null>; readonly interactive: boolean; write(s: string): void }, q: Question): Promise<boolean> {
  const answer = await prompt.readLine();
  if (answer === null && !prompt.interactive) {
    prompt.write('\n');
    throw new CliError('CONFIRMATION_NEEDED', `standard input is not a terminal and gave no answer: pass ${q.flag} to ${q.action} without the question`, {
      hint: `or answer through standard input: ${q.piped}`,
    });
  }
  return (q.yes ?? isYes)(answer);
}

/** A prompt that cannot read anything (no terminal): for tests and non-interactive use. */
export const NO_TERMINAL: PromptIO = {
  interactive: false,
  write: () => undefined,
  readSecret: async () => null,
};
