// Whole-CLI measurements: `bin/dtrust` and the real `notary`, each with its own HOME and trust
// dir, both with -s and -d. A "pair" is the same command run by both tools: one cold run (fresh
// trust dir), one warm-up, then N timed runs with warm caches, interleaved d/n/d/n so that the
// load of a shared machine hits both alike.
import { join } from 'node:path';
import { DTRUST_BIN, NOTARY_BIN, baseEnv, describeFailure, type EnvMap } from '../test/rig/notary.js';
import { log, type BenchContext } from './context.js';
import { runTimed, type TimedRun } from './proc.js';
import { median, ms } from './stats.js';

export type Tool = 'dtrust' | 'notary';
export const TOOLS: readonly Tool[] = ['dtrust', 'notary'];

export function toolBin(tool: Tool): string {
  // bin/dtrust is run as a user runs it: through its `#!/usr/bin/env node` line.
  return tool === 'dtrust' ? DTRUST_BIN : NOTARY_BIN;
}

/** One tool's identity for a measurement: HOME (also cwd) and trust dir. */
export interface Seat {
  tool: Tool;
  home: string;
  trustDir: string;
  serverUrl: string;
}

export async function newSeat(ctx: BenchContext, tool: Tool, serverUrl: string, label: string, trustDir?: string): Promise<Seat> {
  const home = await ctx.tempDir(`dtrust-bench-${tool}-${label.replace(/[^A-Za-z0-9]+/g, '-')}-`);
  return { tool, home, trustDir: trustDir ?? join(home, 'trust'), serverUrl };
}

export interface CliOptions {
  env?: EnvMap;
  timeoutMs?: number;
  stdinFile?: string;
  discardStdout?: boolean;
  pollMs?: number;
}

/** `<tool> -s <url> -d <trustDir> ...args`; throws with both streams unless it exits 0. */
export async function cli(seat: Seat, args: readonly string[], opts: CliOptions = {}): Promise<TimedRun> {
  const full = ['-s', seat.serverUrl, '-d', seat.trustDir, ...args];
  const r = await runTimed(toolBin(seat.tool), full, {
    env: { ...baseEnv(seat.home), ...opts.env },
    cwd: seat.home,
    timeoutMs: opts.timeoutMs ?? 600_000,
    stdinFile: opts.stdinFile,
    discardStdout: opts.discardStdout,
    pollMs: opts.pollMs,
  });
  if (r.code !== 0) throw new Error(describeFailure(seat.tool, full, r));
  return r;
}

export interface Series {
  tool: Tool;
  cold: TimedRun | null;
  warmup: TimedRun | null;
  runs: TimedRun[];
  /** Fewer runs than asked because of BENCH_DEADLINE_S. */
  truncated: boolean;
}

export interface SeriesSummary {
  coldMs: number | null;
  coldPeakKiB: number | null;
  medianMs: number;
  samplesMs: number[];
  /** Median and max of the timed runs' peak RSS. */
  peakMedianKiB: number | null;
  peakMaxKiB: number | null;
  runs: number;
  truncated: boolean;
}

export function summarize(s: Series): SeriesSummary {
  const peaks = s.runs.map((r) => r.peakRssKiB).filter((v): v is number => v !== null);
  return {
    coldMs: s.cold?.wallMs ?? null,
    coldPeakKiB: s.cold?.peakRssKiB ?? null,
    medianMs: median(s.runs.map((r) => r.wallMs)),
    samplesMs: s.runs.map((r) => r.wallMs),
    peakMedianKiB: peaks.length > 0 ? median(peaks) : null,
    peakMaxKiB: peaks.length > 0 ? Math.max(...peaks) : null,
    runs: s.runs.length,
    truncated: s.truncated,
  };
}

export interface PairOptions {
  /** Run once with the tool's fresh state first (recorded as `cold`). */
  cold: boolean;
  warmup: boolean;
  runs: number;
  /** d/n/d/n (reads) or all of dtrust then all of notary (writes: each sees only its own changes). */
  interleave: boolean;
  /** Check each run's output; throw to fail the bench. */
  check?: (tool: Tool, r: TimedRun) => void;
}

/**
 * Runs `run(tool, i)` for both tools. `i` numbers every invocation of that tool from 0 (cold run,
 * warm-up and timed runs alike), e.g. to name a fresh target per `add`. Stops the timed runs
 * early (at least one) when the deadline comes near.
 */
export async function measurePair(
  ctx: BenchContext,
  label: string,
  run: (tool: Tool, i: number) => Promise<TimedRun>,
  opts: PairOptions,
): Promise<Record<Tool, Series>> {
  const series: Record<Tool, Series> = {
    dtrust: { tool: 'dtrust', cold: null, warmup: null, runs: [], truncated: false },
    notary: { tool: 'notary', cold: null, warmup: null, runs: [], truncated: false },
  };
  const count: Record<Tool, number> = { dtrust: 0, notary: 0 };
  const once = async (tool: Tool): Promise<TimedRun> => {
    const r = await run(tool, count[tool]++);
    opts.check?.(tool, r);
    return r;
  };
  // The slowest run seen so far: the deadline check keeps room for one more of each.
  let slowest = 0;
  const note = (r: TimedRun): TimedRun => {
    slowest = Math.max(slowest, r.wallMs);
    return r;
  };
  const roomFor = (k: number): boolean => ctx.timeLeftMs() > k * slowest + 60_000;
  const phases = async (tools: readonly Tool[]): Promise<void> => {
    for (const t of tools) if (opts.cold) series[t].cold = note(await once(t));
    for (const t of tools) if (opts.warmup) series[t].warmup = note(await once(t));
    for (let i = 0; i < opts.runs; i++) {
      if (i > 0 && !roomFor(tools.length)) {
        for (const t of tools) series[t].truncated = true;
        log(`${label}: stopping after ${i} timed runs (BENCH_DEADLINE_S)`);
        break;
      }
      for (const t of tools) series[t].runs.push(note(await once(t)));
    }
  };
  if (opts.interleave) await phases(TOOLS);
  else for (const t of TOOLS) await phases([t]);
  const d = summarize(series.dtrust);
  const n = summarize(series.notary);
  log(
    `${label}: dtrust ${ms(d.medianMs)} [${d.samplesMs.map((v) => ms(v)).join(', ')}] cold ${ms(d.coldMs)}; ` +
      `notary ${ms(n.medianMs)} [${n.samplesMs.map((v) => ms(v)).join(', ')}] cold ${ms(n.coldMs)}`,
  );
  return series;
}
