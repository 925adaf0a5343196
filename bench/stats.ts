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

/** A table with a header row; every column left-aligned except the ones listed as numeric. */
export function grid(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, right: readonly number[] = []): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    '  ' +
    widths
      .map((w, i) => {
        const cell = r[i] ?? '';
        return right.includes(i) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `0.123` (and `8.1x faster` / `1.3x slower`). */
export function ratioText(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return 'n/a';
  return r <= 1 ? `${r.toFixed(3)} (${(1 / r).toFixed(1)}x faster)` : `${r.toFixed(3)} (${r.toFixed(1)}x slower)`;
}

export type Verdict = 'PASS' | 'MISS' | '-';

export function verdict(value: number | null, goal: number | undefined, strict = false): Verdict {
  if (goal === undefined) return '-';
  if (value === null || !Number.isFinite(value)) return 'MISS';
  return (strict ? value < goal : value <= goal) ? 'PASS' : 'MISS';
}

export function quantiles(xs: readonly number[]): { min: number; median: number; max: number } {
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
}
