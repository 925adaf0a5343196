// Small numeric and formatting helpers for the benches.
import { performance } from 'node:perf_hooks';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs fn `warmup` times untimed, then `runs` times timed; returns each run's milliseconds. */
export function timeSync(fn: () => void, runs: number, warmup = 1): { samples: number[]; warmupMs: number[] } {
  const warmupMs: number[] = [];
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    fn();
    warmupMs.push(performance.now() - t0);
  }
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return { samples, warmupMs };
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  return v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
}

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(2)} MiB (${n} B)`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB (${n} B)`;
  return `${n} B`;
}

export function kib(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'n/a';
  return `${(v / 1024).toFixed(1)} MiB`;
}

/** A two-column table with aligned columns. */
export function table(rows: ReadonlyArray<readonly [string, string]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}
