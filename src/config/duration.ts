// Durations as dtrust takes them everywhere (`--within 30d`, `--expires 2y`, DTRUST_EXPIRY_WARNING):
// one or more `<integer><unit>` parts, units y (365 days), w, d, h, m, s; `0` alone is zero.

import { ConfigError } from './errors.js';

const UNIT_MS: Record<string, number> = { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
/** Past this, an expiry cannot be written (Go marshals years up to 9999). */
const MAX_MS = 1000 * UNIT_MS['y']!;

/** Milliseconds of `text`; `what` names the flag, variable or key in the error. */
export function parseDuration(text: string, what: string): number {
  const s = text.trim();
  const bad = (why: string): never => {
    throw new ConfigError('BAD_DURATION', `invalid duration ${JSON.stringify(text)} for ${what}: ${why}`, {
      key: what,
      hint: 'write a duration as a number and a unit, e.g. 30d, 12h, 90m, 1d12h (units: y, w, d, h, m, s); 0 for none',
    });
  };
  if (s === '0') return 0;
  if (s === '') return bad('it is empty');
  let ms = 0;
  let rest = s;
  while (rest !== '') {
    const m = /^(\d{1,9})([ywdhms])/.exec(rest);
    if (!m) return bad(/^\d+$/.test(rest) ? `"${rest}" has no unit` : `"${rest}" is not <number><unit>`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (ms > MAX_MS) bad('more than 1000 years');
  return ms;
}

/** A short human form of a span, largest units first: `29d 23h`, `5h 10m`, `40s`. */
export function formatDuration(ms: number): string {
  const neg = ms < 0;
  let left = Math.floor(Math.abs(ms) / 1000);
  const parts: string[] = [];
  for (const [unit, secs] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(left / secs);
    left -= n * secs;
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return (neg ? '-' : '') + parts.join(' ');
}
