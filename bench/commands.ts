// Section `commands` (issue 4 goals): whole CLI commands, `bin/dtrust` against the real `notary`,
// on the same repositories of the same notary-server, in one run. Each tool has its own HOME and
// trust dir; reads get one cold run (fresh trust dir), one warm-up and BENCH_RUNS (5) timed runs
// with a warm cache, interleaved; the median is compared.
//
//   list    at 10 / 10,000 / N targets          goal at N: time ratio <= 0.25, peak RSS ratio <= 0.5
//   lookup  at N                                 goal: <= 0.2
//   verify  of a 100 MiB payload (-i, -o /dev/null) in the 10-target repository
//                                                goal: time ratio <= 0.7, dtrust peak RSS < 100 MiB
//   add -p  at N: each run adds one new target and publishes     goal: <= 0.5
//           notary created the repository; each tool runs on its own copy of the publisher's
//           trust dir (same keys, same passphrase variables). Keys as notary writes them use
//           2048 PBKDF2 iterations, as dtrust writes them DEFAULT_KDF_ITERATIONS (1,000,000): both
//           key sets are timed with both tools, so the unlock cost shows separately.
//
//   init    init -p of a new repository, and the first publish of one target after a local init
//           (issue 18): each tool with the keys it writes itself (dtrust: 1,000,000 PBKDF2
//           iterations, derived in parallel while the server makes the timestamp key)
//
// BENCH_COMMANDS=list,lookup,verify,add,init runs only the named measurements (default: all).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PASSPHRASE } from '../test/rig/notary.js';
import { DEFAULT_KDF_ITERATIONS } from '../src/keystore/filestore.js';
import { envInt, loadNote, log, type BenchContext } from './context.js';
import { countListRows } from './engine.js';
import { copyTrustDir, keyIterations, reencryptKeys, timeUnlock } from './keys.js';
import { cli, measurePair, newSeat, summarize, type Series, type SeriesSummary, type Tool } from './measure.js';
import type { TimedRun } from './proc.js';
import { grid, kib, ms, ratioText, verdict, type Verdict } from './stats.js';

interface Row {
  what: string;
  dtrust: string;
  notary: string;
  ratio: string;
  goal: string;
  verdict: Verdict;
}

function timeRow(what: string, d: SeriesSummary, n: SeriesSummary, goal?: number): Row & { value: number } {
  const r = d.medianMs / n.medianMs;
  const runs = d.truncated || n.truncated ? ` (${d.runs} runs)` : '';
  return { what: what + runs, dtrust: ms(d.medianMs), notary: ms(n.medianMs), ratio: ratioText(r), goal: goal === undefined ? '' : `<= ${goal}`, verdict: verdict(r, goal), value: r };
}

function coldRow(what: string, d: SeriesSummary, n: SeriesSummary): Row {
  const r = d.coldMs !== null && n.coldMs !== null ? d.coldMs / n.coldMs : null;
  return { what, dtrust: ms(d.coldMs), notary: ms(n.coldMs), ratio: ratioText(r), goal: '', verdict: '-' };
}

function memRow(what: string, d: SeriesSummary, n: SeriesSummary, goal?: number): Row {
  const r = d.peakMedianKiB !== null && n.peakMedianKiB !== null ? d.peakMedianKiB / n.peakMedianKiB : null;
  return { what, dtrust: kib(d.peakMedianKiB), notary: kib(n.peakMedianKiB), ratio: ratioText(r), goal: goal === undefined ? '' : `<= ${goal}`, verdict: verdict(r, goal) };
}

const both = (s: Record<Tool, Series>): [SeriesSummary, SeriesSummary] => [summarize(s.dtrust), summarize(s.notary)];

/** stdout of the last timed run of each tool, compared (dtrust is a drop-in: same bytes). */
function sameOutput(s: Record<Tool, Series>): boolean {
  const d = s.dtrust.runs.at(-1);
  const n = s.notary.runs.at(-1);
  return d !== undefined && n !== undefined && d.stdout === n.stdout;
}

const COMMANDS = ['list', 'lookup', 'verify', 'add', 'init'] as const;

function wanted(): Set<string> {
  const raw = process.env['BENCH_COMMANDS'];
  if (raw === undefined || raw.trim() === '') return new Set(COMMANDS);
  const want = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = want.filter((s) => !(COMMANDS as readonly string[]).includes(s));
  if (bad.length > 0) throw new Error(`BENCH_COMMANDS=${raw}: unknown ${bad.join(', ')} (known: ${COMMANDS.join(', ')})`);
  return new Set(want);
}

export async function runCommands(ctx: BenchContext): Promise<void> {
  const only = wanted();
  const N = envInt('BENCH_TARGETS', 100_000);
  const RUNS = envInt('BENCH_RUNS', 5);
  const sizes = [...new Set([10, Math.min(10_000, N), N])].sort((a, b) => a - b);
  const loadBefore = loadNote();
  log(`commands: ${loadBefore}`);
  const server = await ctx.server();
  const payload = await ctx.payload();
  const rows: Row[] = [];
  const notes: string[] = [];
  const json: Record<string, unknown> = {};
  const summaries = (s: Record<Tool, Series>): Record<Tool, SeriesSummary> => ({ dtrust: summarize(s.dtrust), notary: summarize(s.notary) });

  // ------------------------------------------------------------------------------------ list
  for (const size of only.has('list') ? sizes : []) {
    const repo = await ctx.repo(size);
    const seats = { dtrust: await newSeat(ctx, 'dtrust', server.url, `list-${size}`), notary: await newSeat(ctx, 'notary', server.url, `list-${size}`) };
    const s = await measurePair(ctx, `list ${size}`, (tool) => cli(seats[tool], ['list', repo.gun]), {
      cold: true,
      warmup: true,
      runs: RUNS,
      interleave: true,
      check: (tool, r) => {
        const got = countListRows(r.stdout);
        if (got !== size) throw new Error(`${tool} list ${repo.gun} printed ${got} target rows, expected ${size}`);
      },
    });
    const [d, n] = both(s);
    const isGoal = size === N;
    rows.push(timeRow(`list ${size} targets, warm`, d, n, isGoal ? 0.25 : undefined));
    rows.push(coldRow(`list ${size} targets, cold`, d, n));
    rows.push(memRow(`list ${size} targets, peak RSS`, d, n, isGoal ? 0.5 : undefined));
    if (!sameOutput(s)) notes.push(`list ${size}: dtrust's stdout differs from notary's`);
    json[`list${size}`] = { ...summaries(s), sameOutput: sameOutput(s) };
  }

  // ---------------------------------------------------------------------------------- lookup
  if (only.has('lookup')) {
    const repo = await ctx.repo(N);
    const target = repo.targets[Math.floor(repo.targets.length / 2)]!;
    const seats = { dtrust: await newSeat(ctx, 'dtrust', server.url, 'lookup'), notary: await newSeat(ctx, 'notary', server.url, 'lookup') };
    const s = await measurePair(ctx, `lookup ${N}`, (tool) => cli(seats[tool], ['lookup', repo.gun, target.name]), {
      cold: true,
      warmup: true,
      runs: RUNS,
      interleave: true,
      check: (tool, r) => {
        if (!r.stdout.includes(target.sha256.toString('hex'))) throw new Error(`${tool} lookup printed no sha256 of ${target.name}: ${r.stdout}`);
      },
    });
    const [d, n] = both(s);
    rows.push(timeRow(`lookup in ${N} targets, warm`, d, n, 0.2));
    rows.push(coldRow(`lookup in ${N} targets, cold`, d, n));
    rows.push(memRow(`lookup in ${N} targets, peak RSS`, d, n));
    if (!sameOutput(s)) notes.push(`lookup: dtrust's stdout differs from notary's`);
    json['lookup'] = { ...summaries(s), sameOutput: sameOutput(s) };
  }

  // ---------------------------------------------------------------------------------- verify
  const mib = Math.round(payload.target.length / 2 ** 20);
  const verifyIn = async (size: number, how: 'file' | 'stdin', goals: boolean): Promise<void> => {
    const repo = await ctx.repo(size);
    const label = `verify-${how}-${size}`;
    const seats = { dtrust: await newSeat(ctx, 'dtrust', server.url, label), notary: await newSeat(ctx, 'notary', server.url, label) };
    const args = ['verify', repo.gun, payload.target.name];
    const s = await measurePair(
      ctx,
      `verify ${mib} MiB (${how}) in ${size}`,
      (tool) =>
        how === 'file'
          ? cli(seats[tool], [...args, '-i', payload.file, '-o', '/dev/null'])
          : cli(seats[tool], args, { stdinFile: payload.file, discardStdout: true }),
      { cold: true, warmup: true, runs: RUNS, interleave: true },
    );
    const [d, n] = both(s);
    const what = how === 'file' ? `verify ${mib} MiB -i FILE -o /dev/null (${size} targets)` : `verify ${mib} MiB <FILE >/dev/null (${size} targets)`;
    rows.push(timeRow(`${what}, warm`, d, n, goals ? 0.7 : undefined));
    rows.push(memRow(`${what}, peak RSS`, d, n));
    if (goals) {
      const peak = d.peakMaxKiB;
      rows.push({ what: `${what}, dtrust peak RSS (max)`, dtrust: kib(peak), notary: kib(n.peakMaxKiB), ratio: '', goal: '< 100 MiB', verdict: verdict(peak === null ? null : peak / 1024, 100, true) });
    }
    json[label] = summaries(s);
  };
  if (only.has('verify')) {
    await verifyIn(Math.min(...sizes), 'file', true);
    await verifyIn(Math.min(...sizes), 'stdin', false);
    if (N !== Math.min(...sizes)) await verifyIn(N, 'file', false);
  }

  // ----------------------------------------------------------------------------------- add -p
  if (only.has('add')) {
    const repo = await ctx.repo(N);
    const fileDir = await ctx.tempDir('dtrust-bench-addfile-');
    const file = join(fileDir, 'new-target.bin');
    await writeFile(file, randomBytes(1024));
    const notaryKeys = await keyIterations(repo.publisher.trustDir);
    // Two key sets: as notary wrote them, and re-encrypted as dtrust writes new keys.
    const variants = [
      { id: 'notary-keys', iterations: null as number | null },
      { id: 'dtrust-keys', iterations: DEFAULT_KDF_ITERATIONS },
    ];
    const addSummary: Record<string, Record<Tool, SeriesSummary>> = {};
    const unlockMs: Record<string, number> = {};
    for (const v of variants) {
      const seats = {
        dtrust: await newSeat(ctx, 'dtrust', server.url, `add-${v.id}`),
        notary: await newSeat(ctx, 'notary', server.url, `add-${v.id}`),
      };
      for (const seat of Object.values(seats)) {
        await copyTrustDir(repo.publisher.trustDir, seat.trustDir);
        if (v.iterations !== null) await reencryptKeys(seat.trustDir, DEFAULT_PASSPHRASE, v.iterations);
      }
      const its = await keyIterations(seats.dtrust.trustDir);
      unlockMs[v.id] = await timeUnlock(seats.dtrust.trustDir, DEFAULT_PASSPHRASE);
      log(`add -p (${v.id}): key files with ${[...new Set(its)].join('/')} PBKDF2 iterations; dtrust unlocks one in ${ms(unlockMs[v.id])} in-process`);
      const s = await measurePair(
        ctx,
        `add -p ${N} (${v.id})`,
        (tool, i) => cli(seats[tool], ['add', '-p', repo.gun, `added-${v.id}-${tool}-${i}`, file]),
        {
          cold: false,
          warmup: true,
          runs: RUNS,
          interleave: false,
          check: (tool, r: TimedRun) => {
            if (!/Successfully published changes/.test(r.stdout)) throw new Error(`${tool} add -p did not report a publish:\n${r.stdout}\n${r.stderr}`);
          },
        },
      );
      addSummary[v.id] = summaries(s);
      const after = await keyIterations(seats.dtrust.trustDir);
      if (after.join() !== its.join()) notes.push(`add -p (${v.id}): dtrust rewrote key files (PBKDF2 iterations ${its.join('/')} -> ${after.join('/')})`);
    }
    const a = addSummary['notary-keys']!;
    const b = addSummary['dtrust-keys']!;
    const its = [...new Set(notaryKeys)].join('/');
    rows.push(timeRow(`add -p in ${N}, both on notary-written keys (${its} it.)`, a.dtrust, a.notary, 0.5));
    rows.push(timeRow(`add -p in ${N}, both on dtrust-written keys (${DEFAULT_KDF_ITERATIONS} it.)`, b.dtrust, b.notary, 0.5));
    rows.push(timeRow(`add -p in ${N}, each on the keys it writes`, b.dtrust, a.notary, 0.5));
    rows.push(memRow(`add -p in ${N}, peak RSS`, a.dtrust, a.notary));
    // add -p unlocks two keys (targets, snapshot). The in-process unlock time is the estimate; the
    // difference of the two variants' medians is printed too but is at the mercy of the load.
    const unlockEstimate = 2 * unlockMs['dtrust-keys']!;
    const share = unlockEstimate / b.dtrust.medianMs;
    notes.push(
      `add -p key unlock: dtrust decrypts one key in ${ms(unlockMs['notary-keys'])} at ${its} it., ${ms(unlockMs['dtrust-keys'])} at ${DEFAULT_KDF_ITERATIONS} it. (in-process); ` +
        `add -p unlocks 2 keys (targets, snapshot): about ${ms(unlockEstimate)} of dtrust's ${ms(b.dtrust.medianMs)} with its own keys (${(share * 100).toFixed(0)}%)` +
        `${share > 0.5 ? ' - key unlock DOMINATES add -p' : ''}; difference of the medians ${ms(b.dtrust.medianMs - a.dtrust.medianMs)}`,
    );
    json['addPublish'] = { notaryKeyIterations: notaryKeys, dtrustKeyIterations: DEFAULT_KDF_ITERATIONS, unlockOneKeyMs: unlockMs, ...addSummary };
  }

  // ------------------------------------------------------------------- init -p, first publish
  if (only.has('init')) {
    const fileDir = await ctx.tempDir('dtrust-bench-initfile-');
    const file = join(fileDir, 'first.bin');
    await writeFile(file, randomBytes(1024));
    const stamp = Date.now().toString(36);
    const seats = { dtrust: await newSeat(ctx, 'dtrust', server.url, 'init'), notary: await newSeat(ctx, 'notary', server.url, 'init') };
    const gun = (tool: Tool, what: string, i: number): string => `bench.example.com/${what}-${stamp}-${tool}-${i}`;
    const init = await measurePair(ctx, 'init -p', (tool, i) => cli(seats[tool], ['init', '-p', gun(tool, 'init', i)]), { cold: true, warmup: false, runs: RUNS, interleave: false });
    const first = await measurePair(
      ctx,
      'first publish',
      async (tool, i) => {
        const g = gun(tool, 'first', i);
        await cli(seats[tool], ['init', g]);
        await cli(seats[tool], ['add', g, 'first', file]);
        return cli(seats[tool], ['publish', g]);
      },
      { cold: false, warmup: false, runs: RUNS, interleave: false },
    );
    const i = summaries(init);
    const f = summaries(first);
    rows.push(coldRow('init -p, first (also makes the root key)', i.dtrust, i.notary));
    rows.push(timeRow('init -p (root key exists; new targets and snapshot keys)', i.dtrust, i.notary));
    rows.push(timeRow('first publish after a local init (1 target)', f.dtrust, f.notary));
    json['init'] = { init: i, firstPublish: f };
  }

  // ---------------------------------------------------------------------------------- report
  for (const r of rows) {
    if (r.verdict !== '-') ctx.goals.push({ section: 'commands', what: r.what, value: r.what.includes('RSS') ? (r.ratio || r.dtrust) : r.ratio, goal: r.goal, verdict: r.verdict });
  }
  const loadAfter = loadNote();
  const table = grid(
    ['measurement (median of warm runs)', 'dtrust', 'notary', 'ratio dtrust/notary', 'goal', 'verdict'],
    rows.map((r) => [r.what, r.dtrust, r.notary, r.ratio, r.goal, r.verdict]),
    [1, 2],
  );
  process.stdout.write(
    `\n== commands: bin/dtrust vs notary, whole CLI runs (${RUNS} timed runs each after a cold run and a warm-up)\n${table}\n` +
      notes.map((s) => `  note: ${s}\n`).join('') +
      `  load before: ${loadBefore}\n  load after:  ${loadAfter}\n\n`,
  );
  await ctx.writeResults('commands', {
    load: { before: loadBefore, after: loadAfter },
    targets: N,
    sizes,
    runs: RUNS,
    payloadBytes: payload.target.length,
    table: rows,
    notes,
    series: json,
  });
}
