// Section `staging` (issue 12 item 9): staging BENCH_STAGE_TARGETS (500) hash targets, offline.
//
//   one at a time   `addhash GUN NAME SIZE --sha256 H --sha512 H` once per target, as notary
//                   users script it: dtrust and the real notary interleaved target by target (so
//                   that load hits both alike), with `node -e 0` every 5th target for the
//                   floor of any Node process. Totals and per-command medians are compared.
//   one batch       dtrust `addhash GUN --from FILE` with the same targets (a fresh GUN per run,
//                   BENCH_STAGE_BATCHES = 5 runs, median) against notary's loop above.
//                   Goal: faster than notary's loop.
//
// Every run is checked: each tool's changelist ends up with one change file per target, and
// dtrust's files are byte for byte notary's (staging order).
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseEnv } from '../test/rig/notary.js';
import { envInt, loadNote, log, makeTargets, type BenchContext } from './context.js';
import { changelistDir, type HashTarget } from './changelist.js';
import { newSeat, toolBin, type Seat, type Tool } from './measure.js';
import { runTimed, type TimedRun } from './proc.js';
import { grid, median, ms, ratioText, verdict } from './stats.js';

// Staging is offline: a closed port makes any attempt to connect fail.
const NO_SERVER = 'http://127.0.0.1:1';

function hashArgs(t: HashTarget): string[] {
  return [t.name, String(t.length), '--sha256', t.sha256.toString('hex'), '--sha512', t.sha512.toString('hex')];
}

function listLine(t: HashTarget): string {
  return `${t.name} ${t.length} ${t.sha256.toString('hex')} ${t.sha512.toString('hex')}\n`;
}

/** The change files of a GUN, in staging (name) order. */
function changes(trustDir: string, gun: string): string[] {
  const dir = changelistDir(trustDir, gun);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.change'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

export async function runStaging(ctx: BenchContext): Promise<void> {
  const N = envInt('BENCH_STAGE_TARGETS', 500);
  const BATCHES = envInt('BENCH_STAGE_BATCHES', 5);
  const loadBefore = loadNote();
  log(`staging: ${N} targets; ${loadBefore}`);
  const seats: Record<Tool, Seat> = {
    dtrust: await newSeat(ctx, 'dtrust', NO_SERVER, 'staging'),
    notary: await newSeat(ctx, 'notary', NO_SERVER, 'staging'),
  };
  const targets = makeTargets(N);
  const gun = 'example.com/bench/staging';
  const stage = async (tool: Tool, args: string[], stdinFile?: string): Promise<TimedRun> => {
    const s = seats[tool];
    const full = ['-d', s.trustDir, ...args];
    const r = await runTimed(toolBin(tool), full, { env: baseEnv(s.home), cwd: s.home, timeoutMs: 600_000, pollMs: 0, stdinFile });
    if (r.code !== 0) throw new Error(`${tool} ${full.join(' ')} exited ${r.code}\n${r.stdout}${r.stderr}`);
    return r;
  };

  // One command per target, interleaved.
  const loop: Record<Tool, number[]> = { dtrust: [], notary: [] };
  const nodeMs: number[] = [];
  for (const [i, t] of targets.entries()) {
    if (ctx.timeLeftMs() < 120_000) {
      log(`staging: stopping after ${i} targets (BENCH_DEADLINE_S)`);
      targets.splice(i);
      break;
    }
    for (const tool of ['dtrust', 'notary'] as const) loop[tool].push((await stage(tool, ['addhash', gun, ...hashArgs(t)])).wallMs);
    if (i % 5 === 0) nodeMs.push((await runTimed(process.execPath, ['-e', '0'], { env: { PATH: process.env['PATH'] }, timeoutMs: 60_000, pollMs: 0 })).wallMs);
    if ((i + 1) % 100 === 0) log(`staging: ${i + 1}/${N} targets staged one at a time`);
  }
  const staged = { dtrust: changes(seats.dtrust.trustDir, gun), notary: changes(seats.notary.trustDir, gun) };
  // Fewer than N when the deadline came near.
  const n = targets.length;
  if (staged.dtrust.length !== n || staged.notary.length !== n) throw new Error(`expected ${n} change files, dtrust has ${staged.dtrust.length}, notary ${staged.notary.length}`);
  if (staged.dtrust.some((c, i) => c !== staged.notary[i])) throw new Error('dtrust staged other changes than notary');

  // One batch per run, each into a fresh GUN.
  const listFile = join(seats.dtrust.home, 'targets.txt');
  await writeFile(listFile, targets.map(listLine).join(''));
  const batchMs: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const g = `example.com/bench/batch-${b}`;
    const r = await stage('dtrust', ['addhash', g, '--from', '-'], listFile);
    if (r.stdout.split('\n').filter((l) => l.startsWith('Addition of target')).length !== n) throw new Error(`batch ${b}: expected ${n} messages`);
    const files = changes(seats.dtrust.trustDir, g);
    if (files.length !== n || files.some((c, i) => c !== staged.notary[i])) throw new Error(`batch ${b}: the changes differ from notary's`);
    batchMs.push(r.wallMs);
  }

  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const total = { dtrust: sum(loop.dtrust), notary: sum(loop.notary) };
  const per = { dtrust: median(loop.dtrust), notary: median(loop.notary), node: median(nodeMs) };
  const batch = median(batchMs);
  const loopRatio = total.dtrust / total.notary;
  const batchRatio = batch / total.notary;
  const ownShare = (per.dtrust - per.node) / per.node;
  ctx.goals.push({ section: 'staging', what: `${n} targets in one addhash --from vs notary's loop`, value: `${batchRatio.toFixed(3)} (${ms(batch)} vs ${ms(total.notary)})`, goal: '< 1', verdict: verdict(batchRatio, 1, true) as 'PASS' | 'MISS' });
  const rows = [
    [`${n} targets, one addhash each`, ms(total.dtrust), ms(total.notary), ratioText(loopRatio), '', '-'],
    [`  one addhash (median)`, ms(per.dtrust), ms(per.notary), ratioText(per.dtrust / per.notary), '', '-'],
    [`  node -e 0 (median)`, ms(per.node), '', '', '', ''],
    [`  dtrust's own share of one addhash`, `${ownShare.toFixed(2)}x node -e 0`, '', '', '', ''],
    [`${n} targets, dtrust addhash --from vs notary's loop`, ms(batch), ms(total.notary), ratioText(batchRatio), '< 1', verdict(batchRatio, 1, true)],
  ];
  const loadAfter = loadNote();
  process.stdout.write(
    `\n== staging: ${n} hash targets, offline (one at a time: interleaved with notary; batch: median of ${BATCHES})\n` +
      grid(['measurement', 'dtrust', 'notary', 'ratio dtrust/notary', 'goal', 'verdict'], rows, [1, 2]) +
      `\n  load before: ${loadBefore}\n  load after:  ${loadAfter}\n\n`,
  );
  await ctx.writeResults('staging', {
    load: { before: loadBefore, after: loadAfter },
    targets: n,
    oneAtATime: { dtrustTotalMs: total.dtrust, notaryTotalMs: total.notary, ratio: loopRatio, dtrustSamplesMs: loop.dtrust, notarySamplesMs: loop.notary, nodeSamplesMs: nodeMs, ownShareVsNode: ownShare },
    batch: { dtrustMedianMs: batch, samplesMs: batchMs, vsNotaryLoop: batchRatio },
  });
}
