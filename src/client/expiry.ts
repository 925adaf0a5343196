// Expiry as users meet it (docs/commands/expiry.md): the report of `dtrust expiry` (which roles
// and certificates end within a window, who renews each, which keys are held here), and the
// warning lines every read prints once per role. The dates come from tuf/expiry.ts.

import { formatDuration } from '../config/duration.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { formatExpires } from '../tuf/expires.js';
import { expiryReport, isAlarming, type ExpiryStatus, type RoleExpiry } from '../tuf/expiry.js';

/** Exit code of `expiry` when something ends within the window (documented). */
export const EXIT_WITHIN = 3;
/** Exit code of `expiry` when something has already ended (documented). */
export const EXIT_EXPIRED = 4;

/** Where a private key is held here: a key file or a token; undefined when not here. */
export type Held = (canonicalId: string) => 'file' | 'token' | undefined;

export interface RepoExpiry {
  gun: string;
  /** `cache` when the server could not be reached or was not asked (--offline). */
  source: 'server' | 'cache';
  rows: RoleExpiry[];
  held: Held;
  /** The worst status among the alarming entries: what the exit code says. */
  worst: ExpiryStatus;
}

export interface ExpiryOptions {
  now: number;
  withinMs: number;
  held: Held;
}

/** The server renews the timestamp, and the snapshot unless its key is held here. */
export function serverSigns(b: TrustedCollectionBuilder, held: Held): (role: string) => boolean {
  return (role) => {
    if (role === 'timestamp') return true;
    if (role !== 'snapshot') return false;
    const root = b.root!.meta;
    return !(root.roles.get('snapshot')?.keyids ?? []).some((id) => {
      const k = root.keys.get(id);
      return k !== undefined && held(safeCanonical(k, id)) !== undefined;
    });
  };
}

function safeCanonical(k: { canonicalId: string }, id: string): string {
  try {
    return k.canonicalId;
  } catch {
    return id;
  }
}

export function repoExpiry(gun: string, b: TrustedCollectionBuilder, offline: boolean, opts: ExpiryOptions): RepoExpiry {
  const rows = expiryReport(b, { now: opts.now, withinMs: opts.withinMs, serverSigns: serverSigns(b, opts.held) });
  let worst: ExpiryStatus = 'ok';
  if (isAlarming(rows)) {
    const expired = rows.some((r) => (r.alarming && r.status === 'expired') || r.keys.some((k) => k.certStatus === 'expired'));
    worst = expired ? 'expired' : 'within';
  }
  return { gun, source: offline ? 'cache' : 'server', rows, held: opts.held, worst };
}

export function exitCodeOf(reports: readonly RepoExpiry[]): number {
  if (reports.some((r) => r.worst === 'expired')) return EXIT_EXPIRED;
  return reports.some((r) => r.worst === 'within') ? EXIT_WITHIN : 0;
}

const utc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** `--json`: one object per GUN (docs/commands/expiry.md lists every field). */
export function expiryJson(r: RepoExpiry, now: number, withinMs: number): unknown {
  return {
    gun: r.gun,
    source: r.source,
    now: new Date(now).toISOString(),
    withinSeconds: Math.floor(withinMs / 1000),
    status: r.worst,
    roles: r.rows.map((row) => ({
      role: row.role,
      version: row.version,
      expires: formatExpires(row.expires),
      secondsLeft: Math.floor((row.expires.ms - now) / 1000),
      status: row.status,
      renewedBy: row.renewedBy,
      alarming: row.alarming,
      ...(row.invalid !== undefined ? { invalid: row.invalid } : {}),
      keys: row.keys.map((k) => ({
        id: k.id,
        held: r.held(k.id) ?? null,
        certExpires: k.certExpires === undefined ? null : utc(k.certExpires),
        certStatus: k.certStatus ?? null,
      })),
    })),
  };
}

const MARK: Record<ExpiryStatus, string> = { ok: '', within: 'SOON', expired: 'EXPIRED' };

/** The table rows of one GUN: ROLE, VERSION, EXPIRES (UTC), LEFT, STATUS, RENEWED BY, KEYS. */
export function expiryTableRows(r: RepoExpiry, now: number): string[][] {
  return r.rows.map((row) => {
    const status = row.invalid !== undefined ? 'INVALID' : row.status === 'ok' || row.alarming ? MARK[row.status] : `(${MARK[row.status].toLowerCase()})`;
    const keys = row.keys
      .map((k) => {
        const where = r.held(k.id);
        const cert = k.certExpires === undefined ? '' : ` cert ${utc(k.certExpires).slice(0, 10)}${k.certStatus !== 'ok' ? ' ' + MARK[k.certStatus!] : ''}`;
        return `${k.id.slice(0, 12)}${where ? ` (${where})` : ''}${cert}`;
      })
      .join(', ');
    return [row.role, String(row.version), utc(row.expires.ms), formatDuration(row.expires.ms - now), status, row.renewedBy === 'server' ? 'server' : 'key holder', keys];
  });
}

export interface WarningOptions {
  gun: string;
  now: number;
  windowMs: number;
  held: Held;
  /** Keys (`gun role` / `gun cert id`) already warned about in this command: each is said once. */
  seen: Set<string>;
}

/**
 * One line per role the key holder renews (and per certificate) that ends within the warning
 * window, naming the role, the date and the fix; roles the server renews are left to it.
 */
export function expiryWarnings(b: TrustedCollectionBuilder, opts: WarningOptions): string[] {
  if (opts.windowMs <= 0) return [];
  const rows = expiryReport(b, { now: opts.now, withinMs: opts.windowMs, serverSigns: serverSigns(b, opts.held) });
  const lines: string[] = [];
  const once = (key: string, line: string): void => {
    if (opts.seen.has(key)) return;
    opts.seen.add(key);
    lines.push(line);
  };
  for (const row of rows) {
    // An expired role failed the read, or (a delegation) was skipped with a warning already.
    if (row.alarming && row.status === 'within') {
      once(`${opts.gun} ${row.role}`, `${row.role} of ${opts.gun} expires at ${utc(row.expires.ms)} (in ${formatDuration(row.expires.ms - opts.now)}); renew it with: dtrust renew ${opts.gun}`);
    }
    for (const k of row.keys) {
      if (k.certStatus === undefined || k.certStatus === 'ok') continue;
      const fix = row.role === 'root' ? `rotate the root key: dtrust key rotate ${opts.gun} root` : `give ${row.role} a key with a new certificate: dtrust delegation add ${opts.gun} ${row.role} <new-cert.pem>, then remove the old key`;
      once(`${opts.gun} cert ${k.id}`, `the certificate of ${row.role} key ${k.id.slice(0, 12)} of ${opts.gun} ${k.certStatus === 'expired' ? 'expired' : 'expires'} at ${utc(k.certExpires!)}; ${fix}`);
    }
  }
  return lines;
}
