// `renew` (docs/commands/renew.md): which roles this machine re-signs because they expire within
// a window (or were named), what it cannot renew and why, and the certificates near their end
// with the rotation that renews them. The targets roles are staged as `witness` stages them;
// the root and the snapshot are re-signed by the publish (publish.ts, `Renewal`).

import type { Changelist } from '../storage/changelist.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { expiryReport, type ExpiryStatus } from '../tuf/expiry.js';
import { isDelegationName } from '../tuf/roles.js';
import { ClientError } from './errors.js';
import { serverSigns, type Held } from './expiry.js';
import type { Renewal } from './publish.js';

export interface RenewItem {
  role: string;
  expires: number;
  status: ExpiryStatus;
}

export interface RenewPlan {
  /** Roles this machine re-signs. */
  items: RenewItem[];
  /** Roles within the window (or named) that this machine cannot renew, with the reason. */
  skipped: { role: string; expires: number; why: string }[];
  /** Certificates of root and delegation keys within the window, with the rotation that renews them. */
  certs: { role: string; keyId: string; expires: number; status: ExpiryStatus; fix: string }[];
  /**
   * A root certificate is within the window and a root key is held here: `renew -p` rotates the
   * root key (a new key with a new certificate, as `key rotate GUN root`).
   */
  rotateRoot: boolean;
}

export interface PlanOptions {
  gun: string;
  now: number;
  withinMs: number;
  /** Named roles are renewed whatever their expiry; without them, what expires within the window. */
  roles?: readonly string[];
  held: Held;
}

export function planRenewal(b: TrustedCollectionBuilder, opts: PlanOptions): RenewPlan {
  const rows = expiryReport(b, { now: opts.now, withinMs: opts.withinMs, serverSigns: serverSigns(b, opts.held) });
  const named = opts.roles && opts.roles.length > 0 ? new Set(opts.roles) : undefined;
  for (const role of named ?? []) {
    if (role === 'timestamp') {
      throw new ClientError('RENEW', 'the timestamp is signed and renewed by the server, not by this machine', {
        hint: `if it has expired, check the server's clock and its timestamp signing: dtrust doctor ${opts.gun}`,
      });
    }
    if (!rows.some((r) => r.role === role)) {
      throw new ClientError('RENEW', `${opts.gun} has no role ${role}`, { hint: `see its roles with: dtrust expiry ${opts.gun}` });
    }
  }
  const plan: RenewPlan = { items: [], skipped: [], certs: [], rotateRoot: false };
  for (const row of rows) {
    const wanted = named ? named.has(row.role) : row.renewedBy === 'owner' && row.status !== 'ok';
    if (wanted) {
      const canSign = row.keys.some((k) => opts.held(k.id) !== undefined);
      const expires = row.expires.ms;
      if (row.invalid !== undefined) plan.skipped.push({ role: row.role, expires, why: row.invalid });
      else if (row.renewedBy === 'server') plan.skipped.push({ role: row.role, expires, why: 'the server holds its key and renews it' });
      else if (!canSign) plan.skipped.push({ role: row.role, expires, why: `no key of it is held here (key IDs ${row.keys.map((k) => k.id).join(', ')})` });
      else plan.items.push({ role: row.role, expires, status: row.status });
    }
    if (row.role !== 'root' && !isDelegationName(row.role)) continue;
    const rootHeld = row.role === 'root' && row.keys.some((k) => opts.held(k.id) !== undefined);
    for (const k of row.keys) {
      if (k.certStatus === undefined || k.certStatus === 'ok') continue;
      if (rootHeld) plan.rotateRoot = true;
      const fix =
        row.role === 'root'
          ? rootHeld
            ? `renew -p rotates the root key (a new root key with a new certificate, as dtrust key rotate ${opts.gun} root)`
            : `the holder of the root key runs: dtrust key rotate ${opts.gun} root`
          : `make a new certificate for the key, then: dtrust delegation add ${opts.gun} ${row.role} <new-cert.pem> -p; dtrust delegation remove ${opts.gun} ${row.role} ${k.id} -p`;
      plan.certs.push({ role: row.role, keyId: k.id, expires: k.certExpires!, status: k.certStatus, fix });
    }
  }
  return plan;
}

/** The targets roles of the plan, staged for re-signing as `witness` stages them (the caller holds the GUN's lock). */
export async function stageRenewal(changelist: Changelist, plan: RenewPlan): Promise<string[]> {
  const roles = plan.items.map((i) => i.role).filter((r) => r === 'targets' || isDelegationName(r));
  if (roles.length > 0) await changelist.addAll(roles.map((role) => ({ action: 'update', scope: role, type: 'witness', path: '', data: null })));
  return roles;
}

/** What the publish of a renewal re-signs beyond the staged changes, and the new lifetime (ms) of every renewed role. */
export function renewal(plan: RenewPlan, lifetimeMs?: number): Renewal {
  const roles = plan.items.map((i) => i.role);
  const base = roles.filter((r) => r === 'root' || r === 'targets' || r === 'snapshot');
  return {
    allowExpired: new Set(base),
    root: roles.includes('root'),
    snapshot: roles.includes('snapshot'),
    lifetimes: lifetimeMs === undefined ? undefined : new Map(roles.map((r) => [r, lifetimeMs])),
  };
}
