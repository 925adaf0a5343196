// Section `delegations` (issue 5 goals): `list` of repositories with 10, 100 and 1,000 delegated
// roles (targets/r0001 … each holding one target), through a proxy that adds 20 ms each way to
// every chunk, dtrust against the real notary, cold cache (fresh trust dir every run) and warm.
// Goals (issue 5): ratio <= 0.05 at 1,000 roles cold, <= 0.5 at 10 roles cold. Warm runs have no
// goal: half of notary's warm list (two round trips, ~100 ms here) is less than node's start-up
// plus the one round trip a warm read needs.
//
// Built with the REAL notary, honestly and fast: `notary init`; one delegation key made by
// `notary key generate ecdsa -o` and imported into the publisher's keystore (one key shared by
// every role); for targets/r0001 the real `notary delegation add … --all-paths` and
// `notary addhash … -r targets/r0001`; for the other roles the same change files with the role
// name changed (notary's bodies; the addhash ones generated and checked byte for byte against
// the real one); then ONE real `notary publish`, which signs every role with that key.
import { createPrivateKey } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PASSPHRASE, NotaryClient } from '../test/rig/notary.js';
import { addhashChange, changeFileName, changelistDir, goJsonString, nanoClock } from './changelist.js';
import { checkAgainstRealAddhash, envInt, envIntList, loadNote, log, makeTargets, type BenchContext } from './context.js';
import { countListRows } from './engine.js';
import { cli, measurePair, newSeat, summarize, type Series, type Tool } from './measure.js';
import type { TimedRun } from './proc.js';
import { startLatencyProxy, type LatencyProxy, type ProxyStats } from './proxy.js';
import { grid, median, ms, ratioText, verdict } from './stats.js';

const DELAY_MS = 20;

/** notary's encrypted PEM (with a `role:` header) as an unencrypted PKCS#8 PEM with the same header. */
function plainKeyPem(encrypted: string, passphrase: string): string {
  const role = /^role: (.*)$/m.exec(encrypted)?.[1];
  const bare = encrypted.replace(/^[A-Za-z-]+: .*\n/gm, '').replace(/(-----BEGIN [A-Z ]+-----\n)\n/, '$1');
  const pem = createPrivateKey({ key: bare, format: 'pem', passphrase }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return role ? pem.replace(/^(-----BEGIN PRIVATE KEY-----\n)/, `$1role: ${role}\n\n`) : pem;
}

function roleName(i: number, width: number): string {
  return `targets/r${String(i).padStart(width, '0')}`;
}

interface DelegRepo {
  gun: string;
  roles: number;
  setupMs: { init: number; stage: number; publish: number };
}

export async function buildDelegationRepo(ctx: BenchContext, serverUrl: string, keyDir: string, roles: number): Promise<DelegRepo> {
  const gun = `example.com/bench/deleg-${roles}`;
  const width = Math.max(4, String(roles).length);
  const home = await ctx.fastTempDir('dtrust-bench-deleg-publisher-');
  const pub = await NotaryClient.create({ serverUrl, home });
  let t0 = performance.now();
  await pub.runOk(['init', gun]);
  // notary imports an encrypted key only with a `path` header: import the plain PKCS#8 form
  // (role header kept); notary encrypts it with the delegation passphrase as it stores it.
  await pub.runOk(['key', 'import', join(keyDir, 'deleg-key-plain.pem')]);
  const init = performance.now() - t0;

  t0 = performance.now();
  const dir = changelistDir(pub.trustDir, gun);
  const first = roleName(1, width);
  await pub.runOk(['delegation', 'add', gun, first, join(keyDir, 'deleg.pem'), '--all-paths']);
  const templates: string[] = [];
  for (const f of (await readdir(dir)).sort()) templates.push(await readFile(join(dir, f), 'utf8'));
  if (templates.length === 0) throw new Error('notary delegation add staged no change');
  const roleField = `"role":${goJsonString(first)}`;
  for (const t of templates) {
    if (t.split(roleField).length !== 2) throw new Error(`delegation change does not name ${first} exactly once in "role": ${t}`);
    const data = /"data":"([^"]*)"/.exec(t)?.[1] ?? '';
    if (Buffer.from(data, 'base64').toString('latin1').includes(first.slice('targets/'.length))) {
      throw new Error(`delegation change data names the role; cannot reuse it: ${t}`);
    }
  }
  const targets = makeTargets(roles, 'file-');
  await checkAgainstRealAddhash(pub, gun, targets[0]!, first);
  // The other roles: notary's delegation changes with the role renamed, then one addhash each.
  const clock = nanoClock();
  const write = (body: string): void => {
    const fd = openSync(join(dir, changeFileName(clock())), 'wx', 0o600);
    try {
      writeSync(fd, body);
    } finally {
      closeSync(fd);
    }
  };
  for (let i = 2; i <= roles; i++) for (const t of templates) write(t.replace(roleField, `"role":${goJsonString(roleName(i, width))}`));
  for (let i = 2; i <= roles; i++) write(addhashChange(targets[i - 1]!, roleName(i, width)));
  const staged = (await readdir(dir)).length;
  if (staged !== roles * (templates.length + 1)) throw new Error(`changelist holds ${staged} files, expected ${roles * (templates.length + 1)}`);
  const stage = performance.now() - t0;
  log(`${gun}: ${staged} changes staged in ${ms(stage)}; publishing`);
  t0 = performance.now();
  await pub.runOk(['publish', gun], { timeoutMs: 900_000 });
  const publish = performance.now() - t0;
  const left = (await readdir(dir)).length;
  if (left !== 0) throw new Error(`changelist not emptied by publish (${left} files left)`);
  log(`${gun}: published in ${ms(publish)}`);
  return { gun, roles, setupMs: { init, stage, publish } };
}

/** One delegation key made by the real notary: <dir>/deleg.pem (public), deleg-key-plain.pem (private). */
export async function makeDelegationKey(ctx: BenchContext, serverUrl: string): Promise<string> {
  const keyDir = await ctx.tempDir('dtrust-bench-delegkey-');
  const keyMaker = await NotaryClient.create({ serverUrl, home: keyDir });
  await keyMaker.runOk(['key', 'generate', 'ecdsa', '--role', 'targets/r0001', '-o', join(keyDir, 'deleg')]);
  await writeFile(join(keyDir, 'deleg-key-plain.pem'), plainKeyPem(await readFile(join(keyDir, 'deleg-key.pem'), 'utf8'), DEFAULT_PASSPHRASE), { mode: 0o600 });
  return keyDir;
}

interface PhaseResult {
  series: Record<Tool, Series>;
  traffic: Record<Tool, ProxyStats[]>;
}

/** `GET /v2/<gun>/_trust/tuf/targets/r*.<sha256>.json: 1000` and the like. */
function foldPaths(paths: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of paths) {
    const k = p.replace(/\/r\d{4,}/g, '/r*').replace(/[0-9a-f]{64}/g, '<sha256>');
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function trafficMedian(xs: ProxyStats[]): { connections: number; requests: number; bytesDown: number } | null {
  if (xs.length === 0) return null;
  return { connections: median(xs.map((x) => x.connections)), requests: median(xs.map((x) => x.requests)), bytesDown: median(xs.map((x) => x.bytesDown)) };
}

export async function runDelegations(ctx: BenchContext): Promise<void> {
  const roleCounts = envIntList('BENCH_ROLES', [10, 100, 1000]);
  const RUNS = envInt('BENCH_RUNS', 5);
  const COLD_RUNS = envInt('BENCH_COLD_RUNS', 3);
  const loadBefore = loadNote();
  log(`delegations: ${loadBefore}`);
  const server = await ctx.server();
  const keyDir = await makeDelegationKey(ctx, server.url);

  const proxy: LatencyProxy = await startLatencyProxy(server.port, DELAY_MS);
  ctx.onClose(() => proxy.close());
  const rows: string[][] = [];
  const notes: string[] = [];
  const out: Record<string, unknown> = {};

  for (const roles of roleCounts) {
    const repo = await buildDelegationRepo(ctx, server.url, keyDir, roles);
    const check = (tool: Tool, r: TimedRun): void => {
      const got = countListRows(r.stdout);
      if (got !== roles) throw new Error(`${tool} list ${repo.gun} printed ${got} target rows, expected ${roles}\n${r.stderr}`);
    };
    const phase = async (kind: 'cold' | 'warm'): Promise<PhaseResult> => {
      const traffic: Record<Tool, ProxyStats[]> = { dtrust: [], notary: [] };
      const seats = {
        dtrust: await newSeat(ctx, 'dtrust', proxy.url, `deleg-${roles}-${kind}`),
        notary: await newSeat(ctx, 'notary', proxy.url, `deleg-${roles}-${kind}`),
      };
      const run = async (tool: Tool, i: number): Promise<TimedRun> => {
        const seat = seats[tool];
        // cold: a fresh trust dir every run (nothing cached, root trusted on first use)
        const s = kind === 'cold' ? { ...seat, trustDir: join(seat.home, `trust-${i}`) } : seat;
        proxy.reset();
        const r = await cli(s, ['list', repo.gun]);
        traffic[tool].push(proxy.stats());
        return r;
      };
      const series = await measurePair(
        ctx,
        `list ${roles} roles ${kind}`,
        run,
        kind === 'cold'
          ? { cold: false, warmup: false, runs: COLD_RUNS, interleave: true, check }
          : { cold: true, warmup: true, runs: RUNS, interleave: true, check },
      );
      // warm: traffic of the timed runs only (the first two runs filled the cache)
      if (kind === 'warm') for (const t of ['dtrust', 'notary'] as const) traffic[t] = traffic[t].slice(2);
      return { series, traffic };
    };
    const cold = await phase('cold');
    const warm = await phase('warm');
    const entry: Record<string, unknown> = { setupMs: repo.setupMs };
    for (const [kind, p] of [['cold', cold], ['warm', warm]] as const) {
      const d = summarize(p.series.dtrust);
      const n = summarize(p.series.notary);
      const r = d.medianMs / n.medianMs;
      const goal = kind !== 'cold' ? undefined : roles === 1000 ? 0.05 : roles === 10 ? 0.5 : undefined;
      const td = trafficMedian(p.traffic.dtrust);
      const tn = trafficMedian(p.traffic.notary);
      const traffic = (t: typeof td): string => (t ? `${t.requests} req / ${t.connections} conn` : 'n/a');
      rows.push([
        `${roles} roles, ${kind}${d.truncated || n.truncated ? ` (${d.runs} runs)` : ''}`,
        ms(d.medianMs),
        ms(n.medianMs),
        ratioText(r),
        goal === undefined ? '' : `<= ${goal}`,
        verdict(r, goal),
        traffic(td),
        traffic(tn),
      ]);
      if (goal !== undefined) ctx.goals.push({ section: 'delegations', what: `list ${roles} roles, ${kind}`, value: ratioText(r), goal: `<= ${goal}`, verdict: verdict(r, goal) as 'PASS' | 'MISS' });
      const last = (t: Tool): string => p.series[t].runs.at(-1)?.stdout ?? '';
      if (last('dtrust') !== last('notary')) notes.push(`${roles} roles ${kind}: dtrust's stdout differs from notary's`);
      entry[kind] = {
        dtrust: d,
        notary: n,
        ratio: r,
        goal: goal ?? null,
        verdict: verdict(r, goal),
        traffic: { dtrust: p.traffic.dtrust.map(({ paths: _p, ...rest }) => rest), notary: p.traffic.notary.map(({ paths: _p, ...rest }) => rest) },
        // what one run of each tool requests (role names and hashes folded), with counts
        requestsOfOneRun: { dtrust: foldPaths(p.traffic.dtrust.at(-1)?.paths ?? []), notary: foldPaths(p.traffic.notary.at(-1)?.paths ?? []) },
      };
    }
    out[`roles${roles}`] = entry;
  }

  const loadAfter = loadNote();
  process.stdout.write(
    `\n== delegations: list through a proxy adding ${DELAY_MS} ms each way per chunk (cold: median of ${COLD_RUNS} fresh trust dirs; warm: median of ${RUNS})\n` +
      grid(['repository', 'dtrust', 'notary', 'ratio dtrust/notary', 'goal', 'verdict', 'dtrust traffic', 'notary traffic'], rows, [1, 2]) +
      '\n' +
      notes.map((s) => `  note: ${s}\n`).join('') +
      `  repositories built with the real notary (delegation add + addhash -r staged as notary's change files, one notary publish, one shared delegation key)\n` +
      `  load before: ${loadBefore}\n  load after:  ${loadAfter}\n\n`,
  );
  await ctx.writeResults('delegations', { load: { before: loadBefore, after: loadAfter }, delayMsEachWay: DELAY_MS, runs: RUNS, coldRuns: COLD_RUNS, notes, roles: out });
}
