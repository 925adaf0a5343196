// `expires` as Go's time.Time marshals it (RFC 3339 with nanoseconds, formats.md §2.2).
// A parsed value keeps its wall clock, nanoseconds and offset, so re-serialising gives exactly
// what Go would: trailing fraction zeros removed, `Z` for a zero offset.

import { TrustError } from './errors.js';

export interface Expires {
  /** Milliseconds since the epoch (the instant, for comparisons). */
  readonly ms: number;
  /** Nanoseconds within the second, 0..999999999. */
  readonly nanos: number;
  /** Offset from UTC in minutes, as written. */
  readonly offsetMinutes: number;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export function parseExpires(s: string, role?: string): Expires {
  const m = RFC3339.exec(s);
  const bad = (why: string): never => {
    throw new TrustError('BAD_EXPIRES', `${role ?? 'metadata'}: expires ${JSON.stringify(s)} ${why}`, {
      role,
      field: 'expires',
    });
  };
  if (!m) return bad('is not an RFC 3339 time');
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) {
    bad('is not a valid date and time');
  }
  const frac = m[7] ?? '';
  const nanos = frac === '' ? 0 : Number(frac.padEnd(9, '0'));
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) bad('has an invalid zone offset');
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0-99 to 1900-1999; fix the year explicitly.
  const d = new Date(wall);
  d.setUTCFullYear(year);
  const ms = d.getTime() - offsetMinutes * 60_000 + Math.floor(nanos / 1e6);
  return { ms, nanos, offsetMinutes };
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function formatExpires(e: Expires): string {
  const wallMs = e.ms - Math.floor(e.nanos / 1e6) + e.offsetMinutes * 60_000;
  const d = new Date(wallMs);
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new TrustError('BAD_EXPIRES', `expires year ${year} is outside 0-9999, which Go cannot marshal`);
  }
  let s =
    `${pad(year, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  if (e.nanos !== 0) s += '.' + pad(e.nanos, 9).replace(/0+$/, '');
  if (e.offsetMinutes === 0) return s + 'Z';
  const abs = Math.abs(e.offsetMinutes);
  return `${s}${e.offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** A new expiry `days` after `now`, in UTC (what dtrust writes). */
export function expiresAfter(nowMs: number, days: number): Expires {
  const ms = Math.round(nowMs + days * 86_400_000);
  return { ms, nanos: (((ms % 1000) + 1000) % 1000) * 1e6, offsetMinutes: 0 };
}

export function isExpired(e: Expires, nowMs: number): boolean {
  return e.ms < nowMs;
}
