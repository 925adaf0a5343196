// Where passphrases come from (cli.md §4, §6; SEC-F6), with notary's quirks fixed (cli.md §12
// items 3, 4, 5, 27):
//  1. the environment: notary's NOTARY_<ROLE>_PASSPHRASE (NOTARY_DELEGATION_PASSPHRASE for every
//     non-base alias) and docker's DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE /
//     DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE (every non-root alias);
//  2. a prompt on the terminal, with notary's exact texts (stdout, echo off, trimmed input),
//     a confirmation for new passphrases, at most 3 retries after a wrong one;
//  3. without a terminal and without a variable: an immediate error naming the variable.
// A wrong passphrase is reported as such (naming the variable when it came from one), is never
// cached, and a passphrase is cached (per alias, for the process) only once it decrypted a key.
// The environment is a parameter: this layer never reads process.env.

import { KeyStoreError, shortId } from './errors.js';

/** The terminal side of prompting; implemented by cli/prompt.ts. */
export interface PromptIO {
  /** False when stdin is not a terminal: nothing can be typed. */
  readonly interactive: boolean;
  /** Writes prompt text (notary writes prompts to stdout). */
  write(text: string): void;
  /**
   * Writes `prompt`, reads one line with echo off (echo is off before the prompt appears), then
   * writes a newline. Resolves to the bytes without the line end, or null at end of input.
   */
  readSecret(prompt: string): Promise<Buffer | null>;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const MIN_PASSPHRASE_LENGTH = 8;

export const ROOT_KEY_WARNING = `You are about to create a new root signing key passphrase. This passphrase
will be used to protect the most sensitive key in your signing system. Please
choose a long, complex passphrase and be careful to keep the password and the
key file itself secure and backed up. It is highly recommended that you use a
password manager to generate the passphrase and keep it safe. There will be no
way to recover this key. You can find the key in your config directory.
`;

/** The variables that hold the passphrase for `alias`, in the order they are tried. */
export function passphraseVariables(alias: string): string[] {
  switch (alias) {
    case 'root':
      return ['NOTARY_ROOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE'];
    case 'targets':
      return ['NOTARY_TARGETS_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'];
    case 'snapshot':
      return ['NOTARY_SNAPSHOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'];
    case 'timestamp':
      return ['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'];
    default:
      return ['NOTARY_DELEGATION_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'];
  }
}

export interface PassphraseOptions {
  env: Env;
  /** The terminal; absent or not interactive means nothing can be typed. */
  prompt?: PromptIO | undefined;
  /** Display names for aliases in prompts (docker shows targets/snapshot keys as `repository`). */
  displayAliases?: Readonly<Record<string, string>>;
  /** Prompts per decryption (notary: 4 = the first plus 3 retries). */
  maxUnlockAttempts?: number;
  /** Prompt rounds for a new passphrase before giving up. */
  maxNewAttempts?: number;
}

export interface PassphraseRequest {
  /** The key's ID (used in prompts and messages). */
  keyId: string;
  /** The passphrase alias: the key's role (`root`, `targets`, `targets/releases`, `alice`, ...). */
  alias: string;
  /** What the prompt shows instead of the key ID (notary shows the import location). */
  keyName?: string;
  /** How messages name the key (default: `<alias> key <id7>`). */
  label?: string;
}

export interface NewPassphraseOptions {
  /** Variables to take the new passphrase from instead of the alias's (e.g. for `key passwd`). */
  variables?: readonly string[];
}

/**
 * A passphrase source for one process. `unlock` drives decryption attempts so that only verified
 * passphrases are cached; `newPassphrase` asks for (and confirms) a passphrase for a new key.
 */
export class PassphraseRetriever {
  private readonly cache = new Map<string, Buffer>();
  private warnedRoot = false;

  constructor(private readonly opts: PassphraseOptions) {}

  get interactive(): boolean {
    return this.opts.prompt?.interactive === true;
  }

  /** The value of the first non-empty variable among `names`. */
  private fromEnv(names: readonly string[]): { name: string; value: Buffer }[] {
    const out: { name: string; value: Buffer }[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      const v = this.opts.env[name];
      if (v === undefined || v === '' || seen.has(v)) continue;
      seen.add(v);
      out.push({ name, value: Buffer.from(v, 'utf8') });
    }
    return out;
  }

  private display(alias: string): string {
    return this.opts.displayAliases?.[alias] ?? alias;
  }

  /**
   * Calls `attempt` with candidate passphrases until it returns non-null: the cached verified
   * passphrase for the alias, then the environment, then up to 4 prompts (none when `prompt` is
   * false: then nothing is written either). Throws KeyStoreError WRONG_PASSPHRASE or NO_PASSPHRASE.
   */
  async unlock<T>(req: PassphraseRequest, attempt: (passphrase: Buffer) => Promise<T | null>, opts: { prompt?: boolean } = {}): Promise<T> {
    const cached = this.cache.get(req.alias);
    if (cached !== undefined) {
      const r = await attempt(cached);
      if (r !== null) return r;
    }
    const vars = passphraseVariables(req.alias);
    const fromEnv = this.fromEnv(vars);
    for (const { value } of fromEnv) {
      const r = await attempt(value);
      if (r !== null) this.remember(req.alias, value);
      value.fill(0);
      if (r !== null) return r;
    }
    if (opts.prompt === false) {
      throw new KeyStoreError('NO_PASSPHRASE', `no passphrase for the ${label(req)} without asking for one`, { keyId: req.keyId, role: req.alias });
    }
    const what = label(req);
    const prompt = this.opts.prompt;
    if (fromEnv.length > 0) {
      const names = fromEnv.map((e) => e.name).join(' and ');
      if (!prompt?.interactive) {
        throw new KeyStoreError('WRONG_PASSPHRASE', `the passphrase in ${names} does not decrypt the ${what}`, {
          keyId: req.keyId,
          role: req.alias,
          variable: fromEnv[0]!.name,
          hint: `set ${names} to this key's passphrase, or unset it and enter the passphrase on a terminal`,
        });
      }
      prompt.write(`The passphrase in ${names} does not decrypt the ${what}.\n`);
    } else if (!prompt?.interactive) {
      throw noInput(req, vars, false);
    }
    const max = this.opts.maxUnlockAttempts ?? 4;
    for (let i = 0; i < max; i++) {
      if (i > 0) prompt.write('Passphrase incorrect. Please retry.\n');
      const typed = await prompt.readSecret(`Enter passphrase for ${this.display(req.alias)} key${withId(req)}: `);
      if (typed === null) throw eof(req);
      const pass = trimmed(typed);
      const r = await attempt(pass);
      if (r !== null) this.remember(req.alias, pass);
      pass.fill(0);
      if (r !== null) return r;
    }
    throw new KeyStoreError('WRONG_PASSPHRASE', `wrong passphrase for the ${what} (${max} attempts)`, {
      keyId: req.keyId,
      role: req.alias,
      hint: 'enter the passphrase this key was created or last changed with',
    });
  }

  /**
   * A passphrase for a new key: from the alias's variable (or `opts.variables`), else prompted
   * twice on the terminal. At least 8 characters, from a variable too (cli.md §12 item 27).
   */
  async newPassphrase(req: PassphraseRequest, opts: NewPassphraseOptions = {}): Promise<Buffer> {
    const vars = opts.variables ?? passphraseVariables(req.alias);
    const fromEnv = this.fromEnv(vars)[0];
    if (fromEnv !== undefined) {
      if (fromEnv.value.length < MIN_PASSPHRASE_LENGTH) throw tooShort(req, fromEnv.name);
      if (opts.variables === undefined) this.remember(req.alias, fromEnv.value);
      return fromEnv.value;
    }
    const prompt = this.opts.prompt;
    if (!prompt?.interactive) throw noInput(req, vars, true);
    const max = this.opts.maxNewAttempts ?? 4;
    const display = this.display(req.alias);
    for (let i = 0; i < max; i++) {
      if (req.alias === 'root' && !this.warnedRoot) {
        this.warnedRoot = true;
        prompt.write(ROOT_KEY_WARNING);
      }
      const first = await prompt.readSecret(`Enter passphrase for new ${display} key${withId(req)}: `);
      if (first === null) throw eof(req);
      const pass = trimmed(first);
      if (pass.length < MIN_PASSPHRASE_LENGTH) {
        prompt.write('Passphrase is too short. Please use a password manager to generate and store a good random passphrase.\n');
        pass.fill(0);
        continue;
      }
      const second = await prompt.readSecret(`Repeat passphrase for new ${display} key${withId(req)}: `);
      if (second === null) throw eof(req);
      const again = trimmed(second);
      const same = again.equals(pass);
      again.fill(0);
      if (!same) {
        prompt.write('Passphrases do not match. Please retry.\n');
        pass.fill(0);
        continue;
      }
      if (opts.variables === undefined) this.remember(req.alias, pass);
      return pass;
    }
    throw new KeyStoreError('BAD_NEW_PASSPHRASE', 'maximum number of passphrase attempts exceeded', {
      keyId: req.keyId,
      role: req.alias,
      hint: `choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters and type it the same way twice`,
    });
  }

  /**
   * Without asking anything, throws what unlock (or, for a new key, newPassphrase) would throw for
   * want of a passphrase: no terminal and no variable (NO_PASSPHRASE, naming the variable), or a
   * variable too short for a new key. A workflow checks this before it creates anything.
   */
  require(req: PassphraseRequest, createNew: boolean): void {
    if (this.cache.has(req.alias) || this.interactive) return;
    const vars = passphraseVariables(req.alias);
    const name = vars.find((v) => (this.opts.env[v] ?? '') !== '');
    if (name === undefined) throw noInput(req, vars, createNew);
    if (createNew && Buffer.byteLength(this.opts.env[name]!, 'utf8') < MIN_PASSPHRASE_LENGTH) throw tooShort(req, name);
  }

  /** Caches a passphrase known to be right for the alias (e.g. one a key was just written with). */
  remember(alias: string, passphrase: Buffer): void {
    const old = this.cache.get(alias);
    if (old !== undefined && old !== passphrase) old.fill(0);
    this.cache.set(alias, Buffer.from(passphrase));
  }

  /** Zeroes and forgets every cached passphrase. */
  dispose(): void {
    for (const b of this.cache.values()) b.fill(0);
    this.cache.clear();
  }
}

function trimmed(b: Buffer): Buffer {
  const s = b.toString('utf8');
  const t = s.trim();
  if (t === s) return b;
  b.fill(0);
  return Buffer.from(t, 'utf8');
}

/** notary's ` with ID <id7>` (or ` with ID <id7> (<dir>)` for a key name with a directory). */
function withId(req: PassphraseRequest): string {
  const name = req.keyName ?? req.keyId;
  let sep = name.lastIndexOf('/');
  if (sep === -1) sep = 0;
  let short = '';
  if (name.length > sep + 7) {
    short = sep > 0 ? `${name.slice(sep + 1, sep + 8)} (${name.slice(0, sep)})` : name.slice(0, 7);
  }
  return short === '' ? '' : ` with ID ${short}`;
}

function label(req: PassphraseRequest): string {
  return req.label ?? (req.keyId === '' ? `${req.alias} key` : `${req.alias} key ${shortId(req.keyId)}`);
}

function noInput(req: PassphraseRequest, vars: readonly string[], createNew: boolean): KeyStoreError {
  const what = createNew ? `the new ${label(req)}` : `the ${label(req)}`;
  const names = vars.join(' or ');
  return new KeyStoreError('NO_PASSPHRASE', `no passphrase for ${what}: ${vars[0]} is not set and stdin is not a terminal`, {
    keyId: req.keyId,
    role: req.alias,
    variable: vars[0],
    hint: `set ${names}, or run the command on a terminal to be prompted`,
  });
}

function tooShort(req: PassphraseRequest, variable: string): KeyStoreError {
  return new KeyStoreError('BAD_NEW_PASSPHRASE', `the passphrase in ${variable} is too short for a new key`, {
    keyId: req.keyId,
    role: req.alias,
    variable,
    hint: `use at least ${MIN_PASSPHRASE_LENGTH} characters (a password manager can generate a good random passphrase)`,
  });
}

function eof(req: PassphraseRequest): KeyStoreError {
  return new KeyStoreError('NO_PASSPHRASE', `no passphrase entered for the ${label(req)} (end of input)`, {
    keyId: req.keyId,
    role: req.alias,
  });
}
