// Helpers of the repository-command interop tests: a notary client and a dtrust client on the
// same server (on separate or on the same trust directory), table parsing, small files.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DtrustClient, NotaryClient, describeFailure, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

/** Keys made by dtrust in tests use notary's own 2048 PBKDF2 iterations (fast). */
export const FAST_KDF = { DTRUST_KDF_ITERATIONS: '2048' };

export interface Pair {
  home: string;
  notary: NotaryClient;
  dtrust: DtrustClient;
}

/**
 * A notary client and a dtrust client against `serverUrl`. With `shared`, both use the same
 * trust directory (`<home>/trust`); otherwise each has its own.
 */
export async function clients(serverUrl: string, opts: { shared?: boolean; prefix?: string } = {}): Promise<Pair> {
  const home = await tempDir(opts.prefix ?? 'repo-interop-');
  const notary = await NotaryClient.create({ serverUrl, home, trustDir: join(home, opts.shared ? 'trust' : 'notary-trust') });
  const dtrust = await DtrustClient.create({ serverUrl, home, trustDir: join(home, opts.shared ? 'trust' : 'dtrust-trust'), env: FAST_KDF });
  return { home, notary, dtrust };
}

/** A fresh notary client (empty trust directory): sees only what the server holds. */
export async function freshNotary(serverUrl: string): Promise<NotaryClient> {
  return NotaryClient.create({ serverUrl, home: await tempDir('repo-fresh-notary-') });
}

export async function freshDtrust(serverUrl: string): Promise<DtrustClient> {
  return DtrustClient.create({ serverUrl, home: await tempDir('repo-fresh-dtrust-'), env: FAST_KDF });
}

/** Writes `content` to `<dir>/<name>` and returns the path. */
export function file(dir: string, name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/**
 * The data rows of a notary table, split at the column starts given by the dashes row (widths
 * in runes, as Go's tabwriter counts them). Cells are right-trimmed.
 */
export function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const dashIdx = lines.findIndex((l) => /^-+(\s+-+)*\s*$/.test(l) && l.trim() !== '');
  assert.ok(dashIdx > 0, `no table in:\n${stdout}`);
  const dashes = [...lines[dashIdx]!];
  const starts: number[] = [];
  dashes.forEach((c, i) => {
    if (c === '-' && (i === 0 || dashes[i - 1] === ' ')) starts.push(i);
  });
  return lines
    .slice(dashIdx + 1)
    .filter((l) => l !== '')
    .map((l) => {
      const cps = [...l];
      return starts.map((s, i) => cps.slice(s, i + 1 < starts.length ? starts[i + 1] : undefined).join('').trimEnd());
    });
}

/** Asserts exit 0 and returns the result. */
export function ok(what: string, args: readonly string[], r: RunResult): RunResult {
  if (r.code !== 0) assert.fail(describeFailure(what, args, r));
  return r;
}

/** Asserts exit 1 and returns the result. */
export function fails(what: string, args: readonly string[], r: RunResult): RunResult {
  if (r.code !== 1) assert.fail(`expected exit 1\n${describeFailure(what, args, r)}`);
  return r;
}

/** The `* fatal:` message of a dtrust-mode failure (stderr) or a notary-mode one (stdout). */
export function fatal(text: string): string {
  const m = /\* fatal: (.*)\n/.exec(text);
  assert.ok(m, `no fatal line in:\n${text}`);
  return m[1]!;
}

/** A role's key IDs from `key list` (ROLE column first, KEY ID third). */
export function keyIdsOf(keyListStdout: string, role: string): string[] {
  return tableRows(keyListStdout)
    .filter((r) => r[0] === role)
    .map((r) => r[2]!);
}

/** `signed.version` of a cached metadata file in a trust directory. */
export function cachedVersion(trustDir: string, gun: string, role: string): number {
  const p = join(trustDir, 'tuf', gun, 'metadata', `${role}.json`);
  assert.ok(existsSync(p), `${p} missing`);
  return (JSON.parse(readFileSync(p, 'utf8')) as { signed: { version: number } }).signed.version;
}

/** Runs fn over items with at most `limit` at a time (CLI processes are heavy). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
