// Ctrl-C and SIGTERM during a command (issue 18 item 2): the GUN lock is released, the temp files
// of writes in flight are removed (their targets keep their old content), a terminal left in raw
// mode by a passphrase prompt is restored, and one line says what state things are in. The exit
// status is the shell's for the signal (130, 143).

import { isatty } from 'node:tty';
import { abandonWritesInFlight } from '../fs/atomic.js';
import { stagedCountSync } from '../storage/changelist.js';
import { releaseLocksNow } from '../storage/lock.js';
import { shellQuote } from '../shellwords.js';
import { stderr } from './stdio.js';

type UploadState = 'none' | 'sending' | 'sent';

const state = {
  program: 'dtrust',
  repo: undefined as { trustDir: string; gun: string } | undefined,
  upload: 'none' as UploadState,
  prompt: undefined as NodeJS.ReadStream | undefined,
};

/** The GUN a command works on (its staged changes are counted in the line). */
export function noteRepository(trustDir: string, gun: string): void {
  state.repo = { trustDir, gun };
}

/** Around an upload to the server: an interruption then cannot say "nothing was published". */
export function noteUpload(s: UploadState): void {
  state.upload = s;
}

export function promptActive(): boolean {
  return state.prompt !== undefined;
}

/** A passphrase prompt has the terminal in raw mode (undefined: it gave it back). */
export function notePrompt(input: NodeJS.ReadStream | undefined): void {
  state.prompt = input;
}

/** The one line an interruption prints, from what the command had done. */
export function interruptedLine(program: string, repo: { gun: string; staged: number } | undefined, upload: UploadState): string {
  if (repo === undefined) return 'interrupted: files being written were removed; nothing is half-written';
  const staged = `your ${repo.staged} staged change${repo.staged === 1 ? ' is' : 's are'} kept`;
  const again = `${program} publish ${shellQuote(repo.gun)}`;
  if (upload === 'sending') return `interrupted: the upload was sent and the server may or may not have applied it; ${staged} (run ${again} again)`;
  // A publish clears the changelist once the server took it, and then refreshes the timestamp.
  if (upload === 'sent') return repo.staged === 0 ? 'interrupted: the changes were published; nothing is left staged' : `interrupted: the changes were published; ${staged} until ${again} clears them`;
  return `interrupted: nothing was published; ${staged}`;
}

export function installInterruptHandlers(program: string): void {
  state.program = program;
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
}

/** Cleans up, prints the line and exits; also called by the prompt on a Ctrl-C typed in raw mode. */
export function interrupt(signal: NodeJS.Signals): never {
  releaseLocksNow();
  abandonWritesInFlight();
  const atPrompt = state.prompt !== undefined;
  if (state.prompt?.isTTY) state.prompt.setRawMode(false);
  const repo = state.repo && { gun: state.repo.gun, staged: stagedCountSync(state.repo.trustDir, state.repo.gun) };
  // On a new line: after a prompt, or after the ^C a terminal echoed.
  const nl = atPrompt || isatty(2) ? '\n' : '';
  stderr.write(`${nl}${interruptedLine(state.program, repo, state.upload)}\n`);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
