// Running processes for tests: the REAL `notary` client (reference implementation) and our
// `bin/dtrust`, each with an isolated HOME and trust dir and a minimal environment.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, stat, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from './tmp.js';

export interface RunResult {
  /** Exit code; 128 + signal number when the child died from a signal. */
  code: number;
  stdout: string;
  stderr: string;
  /** Signal that ended the child, if any. */
  signal?: NodeJS.Signals | null;
}

/** undefined in an env map removes that variable (e.g. to get the passphrase prompt). */
export type EnvMap = Record<string, string | undefined>;

export interface RunProcessOptions {
  /** The COMPLETE environment of the child (nothing is inherited). Default: PATH only. */
  env?: EnvMap;
  cwd?: string;
  /** Written to stdin, which is then closed. Without it stdin is an already-closed pipe. */
  input?: string | Buffer;
  /** Kill the child (SIGTERM, SIGKILL 2 s later) and reject after this long. Default 60 s. */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** Thrown by runProcess when the child outlives its timeout; carries the partial output. */
export class ProcessTimeoutError extends Error {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(
      `${command}: still running after ${timeoutMs} ms, killed\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
    );
    this.name = 'ProcessTimeoutError';
  }
}

function cleanEnv(env: EnvMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** Spawns cmd with args (no shell), collects stdout/stderr as UTF-8, resolves when it exits. */
export function runProcess(cmd: string, args: readonly string[], opts: RunProcessOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const env = cleanEnv(opts.env ?? { PATH: process.env['PATH'] });
  const shown = [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // The child may exit without reading its input: ignore EPIPE and friends on stdin.
    child.stdin.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    }, timeoutMs);

    child.once('error', (e) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      reject(new Error(`${shown}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new ProcessTimeoutError(shown, timeoutMs, stdout, stderr));
        return;
      }
      const c = code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 1);
      resolve({ code: c, stdout, stderr, signal });
    });
  });
}

/**
 * Kills `child` when the current test (or scope) ends, should it still be running: a test that
 * fails before its child exits must not leave it keeping the test process alive.
 */
export function killAfter(child: ChildProcess): void {
  after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = once(child, 'exit');
    child.kill('SIGKILL');
    await gone;
  });
}

// ---------------------------------------------------------------------------------------------

/** Repository root, from build/test/rig/notary.js (three levels up). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DTRUST_BIN = join(REPO_ROOT, 'bin', 'dtrust');
/** The reference client; override with NOTARY_BIN. */
export const NOTARY_BIN = process.env['NOTARY_BIN'] || 'notary';

/** Passphrase every default passphrase variable is set to. */
export const DEFAULT_PASSPHRASE = 'rig-passphrase-0123456789';
export const PASSPHRASE_ENV = [
  'NOTARY_ROOT_PASSPHRASE',
  'NOTARY_TARGETS_PASSPHRASE',
  'NOTARY_SNAPSHOT_PASSPHRASE',
  'NOTARY_DELEGATION_PASSPHRASE',
] as const;

/** PATH, HOME and the four passphrase variables. */
export function baseEnv(home: string): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home };
  for (const k of PASSPHRASE_ENV) env[k] = DEFAULT_PASSPHRASE;
  return env;
}

let shared: Promise<string> | undefined;

/**
 * bin/dtrust for a test that runs it as another user: a copy of bin/, the bundles in dist/ and
 * the packages they load, in a temp dir every user can read. The checkout itself may live where that
 * user cannot reach it (a clone under `mktemp -d`, mode 0700). Made once per process.
 */
export function dtrustForOtherUsers(): Promise<string> {
  shared ??= (async () => {
    const dir = await makeTempDir('dtrust-shared-');
    await cp(join(REPO_ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    await mkdir(join(dir, 'dist'));
    for (const bundle of ['dtrust.cjs', 'stage.cjs']) await copyFile(join(REPO_ROOT, 'dist', bundle), join(dir, 'dist', bundle));
    for (const pkg of runtimePackages()) await cp(join(REPO_ROOT, pkg), join(dir, pkg), { recursive: true, dereference: true });
    await readableByAll(dir);
    return join(dir, 'bin', 'dtrust');
  })();
  return shared;
}

/** node_modules/<name> of package.json's dependencies and optional dependencies, and of theirs. */
function runtimePackages(): string[] {
  const found = new Set<string>();
  const visit = (from: string, name: string, optional: boolean): void => {
    // Node's lookup: node_modules/<name> in `from`, then in each directory above, up to the root.
    for (let dir = from; ; dir = dirname(dir)) {
      const pkg = join(dir, 'node_modules', name);
      if (existsSync(join(pkg, 'package.json'))) {
        const rel = relative(REPO_ROOT, pkg);
        if (found.has(rel)) return;
        found.add(rel);
        const meta = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { dependencies?: object; optionalDependencies?: object };
        for (const dep of Object.keys(meta.dependencies ?? {})) visit(pkg, dep, false);
        for (const dep of Object.keys(meta.optionalDependencies ?? {})) visit(pkg, dep, true);
        return;
      }
      if (dir === REPO_ROOT) break;
    }
    if (!optional) throw new Error(`${name} is not installed under ${from}: run npm ci`);
  };
  const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: object; optionalDependencies?: object };
  for (const dep of Object.keys(root.dependencies ?? {})) visit(REPO_ROOT, dep, false);
  for (const dep of Object.keys(root.optionalDependencies ?? {})) visit(REPO_ROOT, dep, true);
  // A nested package comes with the one it is nested in.
  return [...found].filter((p) => !p.includes('/node_modules/'));
}

/** Directories 0755 and files world-readable (executables world-executable), whatever the umask. */
async function readableByAll(path: string): Promise<void> {
  await chmod(path, 0o755);
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) await readableByAll(p);
    else if (e.isFile()) await chmod(p, ((await stat(p)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

export interface RunDtrustOptions extends RunProcessOptions {
  /** HOME for the child; a fresh temp dir per call when omitted. */
  home?: string;
  /** Program name seen by bin/dtrust (it selects defaults): run through a symlink named so. */
  invokeAs?: 'dtrust' | 'notary';
}

const launchers = new Map<string, Promise<string>>();

/** A symlink <tmp>/<name> → bin/dtrust, so that argv[1]'s basename is `name`. */
function launcherFor(name: string): Promise<string> {
  let p = launchers.get(name);
  if (!p) {
    p = (async () => {
      const dir = await makeTempDir('dtrust-launcher-');
      await mkdir(dir, { recursive: true });
      const link = join(dir, name);
      await symlink(DTRUST_BIN, link);
      return link;
    })();
    launchers.set(name, p);
  }
  return p;
}

/**
 * Runs `node bin/dtrust ...args` (needs `npm run build`: bin/dtrust loads dist/dtrust.cjs).
 * Env = PATH, HOME, default passphrases, then opts.env on top (undefined removes a variable).
 */
export async function runDtrust(args: readonly string[], opts: RunDtrustOptions = {}): Promise<RunResult> {
  const home = opts.home ?? (await makeTempDir('dtrust-home-'));
  const script = opts.invokeAs && opts.invokeAs !== 'dtrust' ? await launcherFor(opts.invokeAs) : DTRUST_BIN;
  return runProcess(process.execPath, [script, ...args], {
    env: { ...baseEnv(home), ...opts.env },
    cwd: opts.cwd ?? home,
    input: opts.input,
    timeoutMs: opts.timeoutMs,
  });
}

// ---------------------------------------------------------------------------------------------

export interface NotaryClientOptions {
  serverUrl: string;
  /** HOME of the child; a fresh temp dir when omitted. */
  home?: string;
  /** Trust dir passed with -d; `<home>/.notary` when omitted (not created in advance). */
  trustDir?: string;
  /** Extra env for every run (on top of PATH, HOME, passphrases; undefined removes). */
  env?: EnvMap;
}

export interface ClientRunOptions {
  env?: EnvMap;
  input?: string | Buffer;
  timeoutMs?: number;
  cwd?: string;
  /** Do not prepend `-s <url> -d <trustDir>`. */
  noGlobalFlags?: boolean;
}

/** Shared logic of NotaryClient and DtrustClient: isolated HOME/trust dir, fixed server. */
abstract class CliClient {
  protected constructor(
    readonly serverUrl: string,
    readonly home: string,
    readonly trustDir: string,
    readonly env: EnvMap,
  ) {}

  protected abstract exec(args: string[], opts: RunProcessOptions): Promise<RunResult>;

  /** Runs `<cli> -s <serverUrl> -d <trustDir> ...args` with cwd = home. */
  run(args: readonly string[], opts: ClientRunOptions = {}): Promise<RunResult> {
    const full = opts.noGlobalFlags ? [...args] : ['-s', this.serverUrl, '-d', this.trustDir, ...args];
    return this.exec(full, {
      env: { ...baseEnv(this.home), ...this.env, ...opts.env },
      cwd: opts.cwd ?? this.home,
      input: opts.input,
      timeoutMs: opts.timeoutMs,
    });
  }

  /** run() that throws (with both streams) unless the exit code is 0. */
  async runOk(args: readonly string[], opts: ClientRunOptions = {}): Promise<RunResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(describeFailure(this.constructor.name, args, r));
    return r;
  }
}

async function resolveDirs(opts: NotaryClientOptions, prefix: string): Promise<[string, string]> {
  const home = opts.home ?? (await makeTempDir(prefix));
  const trustDir = opts.trustDir ?? join(home, '.notary');
  return [home, trustDir];
}

/** The REAL notary 0.7 client. */
export class NotaryClient extends CliClient {
  static async create(opts: NotaryClientOptions): Promise<NotaryClient> {
    const [home, trustDir] = await resolveDirs(opts, 'dtrust-notary-home-');
    return new NotaryClient(opts.serverUrl, home, trustDir, opts.env ?? {});
  }

  protected exec(args: string[], opts: RunProcessOptions): Promise<RunResult> {
    return runProcess(NOTARY_BIN, args, opts);
  }
}

/** Our CLI with the same calling convention as NotaryClient (for side-by-side tests). */
export class DtrustClient extends CliClient {
  private constructor(
    serverUrl: string,
    home: string,
    trustDir: string,
    env: EnvMap,
    readonly invokeAs: 'dtrust' | 'notary',
  ) {
    super(serverUrl, home, trustDir, env);
  }

  static async create(opts: NotaryClientOptions & { invokeAs?: 'dtrust' | 'notary' }): Promise<DtrustClient> {
    const [home, trustDir] = await resolveDirs(opts, 'dtrust-dtrust-home-');
    return new DtrustClient(opts.serverUrl, home, trustDir, opts.env ?? {}, opts.invokeAs ?? 'dtrust');
  }

  protected exec(args: string[], opts: RunProcessOptions): Promise<RunResult> {
    const script = this.invokeAs === 'dtrust' ? Promise.resolve(DTRUST_BIN) : launcherFor(this.invokeAs);
    return script.then((s) => runProcess(process.execPath, [s, ...args], opts));
  }
}

/** A readable failure message with the command, exit code and both streams. */
export function describeFailure(what: string, args: readonly string[], r: RunResult): string {
  return `${what} ${args.map((a) => JSON.stringify(a)).join(' ')} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}
