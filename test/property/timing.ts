// Time bounds that hold on a loaded machine. The cost of a call is the smaller of its wall time
// and the process's CPU time: both bound the time the calling thread ran, wall time is inflated
// when other processes take the CPU, CPU time when V8's helper threads spin beside it. A first
// quick measurement decides most cases; only a suspicious one is measured again, the minimum of
// several repetitions each started after a full garbage collection, so that the garbage of
// earlier calls and a cold cache do not count either.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function clocks(): [number, number] {
  const u = process.cpuUsage();
  return [performance.now(), (u.user + u.system) / 1000];
}

/** Milliseconds of one call (see above). */
function costMs(fn: () => void): number {
  const [w0, c0] = clocks();
  fn();
  const [w1, c1] = clocks();
  return Math.min(w1 - w0, c1 - c0);
}

/** Milliseconds per call, the minimum of `reps` batches of at least 2 ms each. */
function carefulMs(fn: () => void, reps: number): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    gc();
    let calls = 0;
    const [w0, c0] = clocks();
    let used = 0;
    do {
      fn();
      calls++;
      const [w1, c1] = clocks();
      used = Math.min(w1 - w0, c1 - c0);
    } while (used < 2 && calls < 1000);
    best = Math.min(best, used / calls);
  }
  return best;
}

/** Below this a call on the large input is too cheap to be superlinear at these sizes. */
const NEGLIGIBLE_MS = 1;
/**
 * A linear cost grows 10 times from one size to the next (10 times larger), a quadratic one 100
 * times. V8's heap makes a linear cost that allocates jump by up to about 90 times over one such
 * step, when its allocations outgrow a heap space (measured on parsers here), but not over the
 * next: a growth beyond this is confirmed one step further.
 */
const MAX_GROWTH = 50;
/** Beyond this at the large size, the next size is not tried (it would take seconds if quadratic). */
const CONFIRM_LIMIT_MS = 100;

export interface LinearOptions {
  /** The sizes compared, the large one 10 times the small one (default 10,000 and 100,000). */
  small?: number;
  large?: number;
}

/**
 * Asserts that the cost of `fn` grows about linearly with the input: at most MAX_GROWTH times
 * from the small size to the large one, or else from the large size to 10 times the large size.
 * `make(n)` builds an input of about n units.
 */
export function assertLinear<T>(what: string, make: (n: number) => T, fn: (input: T) => void, opts: LinearOptions = {}): void {
  const sizes = [opts.small ?? 10_000, opts.large ?? 100_000];
  const inputs = sizes.map(make);
  const within = (a: number, b: number, growth: number): boolean => b <= NEGLIGIBLE_MS || b <= a * growth;
  if (within(costMs(() => fn(inputs[0]!)), costMs(() => fn(inputs[1]!)), MAX_GROWTH)) return;
  const a = carefulMs(() => fn(inputs[0]!), 5);
  const b = carefulMs(() => fn(inputs[1]!), 3);
  if (within(a, b, MAX_GROWTH)) return;
  const growth = `${what}: ${b.toFixed(3)} ms at ${sizes[1]} against ${a.toFixed(3)} ms at ${sizes[0]} (${(b / a).toFixed(1)} times, linear is 10)`;
  assert.ok(b <= CONFIRM_LIMIT_MS, growth);
  const next = make(sizes[1]! * 10);
  const c = carefulMs(() => fn(next), 2);
  assert.ok(within(b, c, MAX_GROWTH), `${growth}, then ${c.toFixed(3)} ms at ${sizes[1]! * 10} (${(c / b).toFixed(1)} times)`);
}

/**
 * CPU milliseconds of this thread so far, where Linux tells (in scheduler ticks, 4 ms here): for
 * calls of tens of milliseconds it leaves out V8's helper threads, which a loaded machine makes
 * spin for as long again.
 */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** The smallest of wall time, process CPU time and this thread's CPU time of one call. */
function callMs(fn: () => void): number {
  const t0 = threadCpuMs();
  const [w0, c0] = clocks();
  fn();
  const [w1, c1] = clocks();
  const thread = threadCpuMs() - t0;
  return Math.min(w1 - w0, c1 - c0, Number.isNaN(thread) ? Infinity : thread);
}

/** A fixed piece of work and what it costs on the machine a time limit was set on. */
export interface Reference {
  run: () => void;
  ms: number;
}

/**
 * Asserts that one call of `fn` takes at most `limitMs` on a machine where `reference` takes
 * `reference.ms`. A first call within the limit passes; otherwise `fn` and the reference are
 * measured alternately, the minimum of 5 calls each, and the limit is scaled by how much slower
 * the reference runs now (a busy machine is slower at everything; never below the limit itself).
 */
export function assertFast(what: string, fn: () => void, limitMs: number, reference: Reference): void {
  if (callMs(fn) <= limitMs) return;
  let best = Infinity;
  let ref = Infinity;
  for (let r = 0; r < 5; r++) {
    gc();
    best = Math.min(best, callMs(fn));
    gc();
    ref = Math.min(ref, callMs(reference.run));
  }
  const scaled = limitMs * Math.max(1, ref / reference.ms);
  assert.ok(
    best <= scaled,
    `${what}: ${best.toFixed(1)} ms, more than ${limitMs} ms (${scaled.toFixed(1)} ms now: the reference took ${ref.toFixed(1)} ms, ${reference.ms} ms when the limit was set)`,
  );
}
