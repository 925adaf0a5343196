// What the bench sections share in one run: one notary-server, the deadline, the repositories of
// N hash targets (built once, used by several sections), the payload file for `verify`, temp
// dirs, and the results writer.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startNotaryServer, type NotaryServer } from '../test/rig/server.js';
import { NotaryClient, REPO_ROOT } from '../test/rig/notary.js';
import { makeTempDir, removeTempDir } from '../test/rig/tmp.js';
import { addhashChange, changelistDir, writeAddhashChanges, type HashTarget } from './changelist.js';
import { ms } from './stats.js';
import { makeFastTempDir, removeFastTempDir } from './tmp.js';

export function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

export function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name}=${raw}: expected a positive integer`);
  return n;
}

/** A comma-separated list of positive integers, e.g. BENCH_ROLES=10,100,1000. */
export function envIntList(name: string, dflt: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...dflt];
  const out = raw.split(',').map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error(`${name}=${raw}: expected positive integers separated by commas`);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** `uptime`'s line (load averages next to the figures: the machine is shared). */
export function loadNote(): string {
  try {
    return execFileSync('uptime', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).trim();
  } catch {
    return `load average: ${loadavg().map((v) => v.toFixed(2)).join(', ')}`;
  }
}

export function makeTargets(n: number, prefix = 'target-'): HashTarget[] {
  const width = Math.max(6, String(n).length);
  const hashes = randomBytes(96 * n);
  const out: HashTarget[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      name: `${prefix}${String(i + 1).padStart(width, '0')}`,
      // sizes spread over 10 B … 1 GB
      length: Math.floor(10 ** (1 + 8 * Math.random())),
      sha256: hashes.subarray(96 * i, 96 * i + 32),
      sha512: hashes.subarray(96 * i + 32, 96 * i + 96),
    });
  }
  return out;
}

/** One real `notary addhash`, to prove the generated change files are what notary writes. */
export async function checkAgainstRealAddhash(client: NotaryClient, gun: string, t: HashTarget, role = 'targets'): Promise<void> {
  const dir = changelistDir(client.trustDir, gun);
  const before = new Set(await readdir(dir).catch(() => [] as string[]));
  await client.runOk([
    'addhash', gun, t.name, String(t.length),
    '--sha256', t.sha256.toString('hex'),
    '--sha512', t.sha512.toString('hex'),
    ...(role === 'targets' ? [] : ['-r', role]),
  ]);
  const files = (await readdir(dir)).filter((f) => !before.has(f));
  if (files.length !== 1) throw new Error(`expected 1 new change file after addhash, found ${files.length}: ${files.join(', ')}`);
  const name = files[0]!;
  if (!/^\d{20}_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.change$/.test(name)) {
    throw new Error(`unexpected change file name from notary: ${name}`);
  }
  const st = await stat(join(dir, name));
  if ((st.mode & 0o777) !== 0o600) throw new Error(`notary's change file has mode ${(st.mode & 0o777).toString(8)}`);
  const real = await readFile(join(dir, name), 'utf8');
  const ours = addhashChange(t, role);
  if (real !== ours) throw new Error(`generated change differs from notary's:\n notary: ${real}\n ours:   ${ours}`);
}

/** The file `verify` checks: random bytes, its hashes, and the target that names it. */
export interface Payload {
  file: string;
  target: HashTarget;
}

/** A repository of N targets published by the real notary (publisher's trust dir holds its keys). */
export interface Repo {
  gun: string;
  /** Targets in the repository (payload included). */
  n: number;
  targets: HashTarget[];
  publisher: NotaryClient;
  setupMs: { init: number; stage: number; publish: number };
}

/** One goal's outcome, for the summary printed at the end of the run. */
export interface GoalResult {
  section: string;
  what: string;
  value: string;
  goal: string;
  verdict: 'PASS' | 'MISS';
}

export class BenchContext {
  readonly startedAt = performance.now();
  readonly goals: GoalResult[] = [];
  readonly deadlineAt: number;
  private serverP: Promise<NotaryServer> | undefined;
  private readonly repos = new Map<number, Promise<Repo>>();
  private payloadP: Promise<Payload> | undefined;
  private readonly tempDirs = new Set<string>();
  private readonly fastDirs = new Set<string>();
  private readonly closers: Array<() => Promise<void>> = [];

  constructor(readonly deadlineS: number) {
    this.deadlineAt = this.startedAt + deadlineS * 1000;
  }

  timeLeftMs(): number {
    return this.deadlineAt - performance.now();
  }

  server(): Promise<NotaryServer> {
    this.serverP ??= (async () => {
      log('starting notary-server');
      const s = await startNotaryServer();
      this.closers.push(() => s.stop());
      return s;
    })();
    return this.serverP;
  }

  async tempDir(prefix: string): Promise<string> {
    const d = await makeTempDir(prefix);
    this.tempDirs.add(d);
    return d;
  }

  async fastTempDir(prefix: string): Promise<string> {
    const d = await makeFastTempDir(prefix);
    this.fastDirs.add(d);
    return d;
  }

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** The verify payload: BENCH_VERIFY_MB (default 100) MiB of random bytes in an on-disk temp dir. */
  payload(): Promise<Payload> {
    this.payloadP ??= (async () => {
      const mib = envInt('BENCH_VERIFY_MB', 100);
      const dir = await this.tempDir('dtrust-bench-payload-');
      const file = join(dir, 'payload.bin');
      const h256 = createHash('sha256');
      const h512 = createHash('sha512');
      const fd = openSync(file, 'wx', 0o600);
      try {
        for (let i = 0; i < mib; i++) {
          const chunk = randomBytes(1024 * 1024);
          h256.update(chunk);
          h512.update(chunk);
          writeSync(fd, chunk);
        }
      } finally {
        closeSync(fd);
      }
      return { file, target: { name: `payload-${mib}MiB.bin`, length: mib * 1024 * 1024, sha256: h256.digest(), sha512: h512.digest() } };
    })();
    return this.payloadP;
  }

  /**
   * A repository of n targets (the verify payload is one of them) on the shared server, built
   * once: `notary init`, n-1 changes written as `notary addhash` writes them (the first one made
   * by the real addhash and compared byte for byte), one real `notary publish`. The publisher's
   * HOME is on tmpfs when available (staging 100k files is then disk-independent).
   */
  repo(n: number): Promise<Repo> {
    let p = this.repos.get(n);
    if (!p) {
      p = this.buildRepo(n);
      this.repos.set(n, p);
    }
    return p;
  }

  private async buildRepo(n: number): Promise<Repo> {
    const server = await this.server();
    const payload = await this.payload();
    const gun = `example.com/bench/t${n}`;
    const home = await this.fastTempDir('dtrust-bench-publisher-');
    const publisher = await NotaryClient.create({ serverUrl: server.url, home });
    let t0 = performance.now();
    await publisher.runOk(['init', gun]);
    const init = performance.now() - t0;
    const targets = [...makeTargets(n - 1), payload.target];
    await checkAgainstRealAddhash(publisher, gun, targets[0]!);
    t0 = performance.now();
    await writeAddhashChanges(publisher.trustDir, gun, targets.slice(1));
    const stage = performance.now() - t0;
    const staged = (await readdir(changelistDir(publisher.trustDir, gun))).length;
    if (staged !== n) throw new Error(`changelist holds ${staged} files, expected ${n}`);
    log(`${gun}: init ${ms(init)}; ${n} changes staged in ${ms(stage)}; publishing`);
    t0 = performance.now();
    await publisher.runOk(['publish', gun], { timeoutMs: 600_000 });
    const publish = performance.now() - t0;
    const left = (await readdir(changelistDir(publisher.trustDir, gun))).length;
    if (left !== 0) throw new Error(`changelist not emptied by publish (${left} files left)`);
    log(`${gun}: published in ${ms(publish)}`);
    return { gun, n, targets, publisher, setupMs: { init, stage, publish } };
  }

  async writeResults(section: string, results: object): Promise<string> {
    const outDir = join(REPO_ROOT, '.bench');
    await mkdir(outDir, { recursive: true });
    const outFile = join(outDir, `results-${section}.json`);
    const body = {
      bench: section,
      date: new Date().toISOString(),
      host: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memMiB: Math.round(totalmem() / 2 ** 20) },
      ...results,
    };
    await writeFile(outFile, JSON.stringify(body, null, 2) + '\n');
    log(`results written to ${outFile}`);
    return outFile;
  }

  async close(): Promise<void> {
    for (const c of this.closers.splice(0).reverse()) await c().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    for (const d of this.tempDirs) await removeTempDir(d).catch(() => undefined);
    for (const d of this.fastDirs) await removeFastTempDir(d).catch(() => undefined);
    this.tempDirs.clear();
    this.fastDirs.clear();
  }
}
