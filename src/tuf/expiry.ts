// When each role of a verified collection expires, and each certificate that signs for it: the
// rows of `dtrust expiry`, the warnings of reads and what `renew` picks. `now` and the window are
// parameters; who renews what (the server, or the holder of a key here) is the caller's answer.

import { certificatesFromPem, inspectCertificate } from '../crypto/x509.js';
import type { TrustedCollectionBuilder } from './builder.js';
import type { Expires } from './expires.js';
import type { PublicKey } from './keys.js';
import type { Targets } from './metadata.js';
import { parentOf } from './roles.js';
import { breadthFirst } from './walk.js';

/** `ok`: beyond the window; `within`: ends inside it; `expired`: already ended. */
export type ExpiryStatus = 'ok' | 'within' | 'expired';

export interface KeyExpiry {
  /** The canonical key ID (what `key list` shows and key files are named by). */
  id: string;
  /** The certificate's own end (x509 keys: root keys, most delegation keys). */
  certExpires?: number;
  certStatus?: ExpiryStatus;
}

export interface RoleExpiry {
  role: string;
  version: number;
  expires: Expires;
  status: ExpiryStatus;
  /** The server signs and renews the timestamp, and the snapshot when it holds its key. */
  renewedBy: 'server' | 'owner';
  /**
   * Whether the role makes the report alarming: a role its owner renews as soon as it is
   * within the window, a role the server renews only once actually expired.
   */
  alarming: boolean;
  keys: KeyExpiry[];
  /** A delegation the collection does not trust for another reason than its age (e.g. below threshold). */
  invalid?: string;
}

export interface ExpiryOptions {
  now: number;
  withinMs: number;
  /** True for the roles the server signs (the timestamp always; the snapshot when no key for it is here). */
  serverSigns(role: string): boolean;
}

export function statusOf(endMs: number, now: number, withinMs: number): ExpiryStatus {
  if (endMs < now) return 'expired';
  return endMs < now + withinMs ? 'within' : 'ok';
}

/** One row per role: root, targets, snapshot, timestamp, then every delegation in notary's walk order. */
export function expiryReport(b: TrustedCollectionBuilder, opts: ExpiryOptions): RoleExpiry[] {
  const root = b.root?.meta;
  if (!root) throw new Error('expiryReport needs a trusted root');
  const rows: RoleExpiry[] = [];
  const add = (role: string, meta: { version: number; expires: Expires } | undefined, keys: PublicKey[], invalid?: string): void => {
    if (!meta) return;
    const status = statusOf(meta.expires.ms, opts.now, opts.withinMs);
    const renewedBy = opts.serverSigns(role) ? 'server' : 'owner';
    const row: RoleExpiry = {
      role,
      version: meta.version,
      expires: meta.expires,
      status,
      renewedBy,
      alarming: renewedBy === 'server' ? status === 'expired' : status !== 'ok',
      keys: keys.map((k) => keyExpiry(k, opts)),
    };
    if (invalid !== undefined) row.invalid = invalid;
    rows.push(row);
  };
  const baseKeys = (role: string): PublicKey[] => (root.roles.get(role)?.keyids ?? []).flatMap((id) => root.keys.get(id) ?? []);
  add('root', root, baseKeys('root'));
  add('targets', b.targets?.meta, baseKeys('targets'));
  add('snapshot', b.snapshot?.meta, baseKeys('snapshot'));
  add('timestamp', b.timestamp?.meta, baseKeys('timestamp'));

  const fileOf = (role: string): Targets | undefined => b.targetsRoles.get(role)?.meta ?? b.invalidFiles.get(role)?.meta;
  const children = (role: string): string[] => (b.targetsRoles.get(role)?.meta.delegations.roles ?? []).map((d) => d.name);
  for (const role of breadthFirst(['targets'], children)) {
    if (role === 'targets') continue;
    const meta = fileOf(role);
    const parent = b.targetsRoles.get(parentOf(role))?.meta;
    const decl = parent?.delegations.roles.find((d) => d.name === role);
    const keys = (decl?.keyids ?? []).flatMap((id) => parent?.delegations.keys.get(id) ?? []);
    const why = b.invalid.get(role);
    add(role, meta, keys, why && why.code !== 'EXPIRED' ? why.message : undefined);
  }
  return rows;
}

function keyExpiry(k: PublicKey, opts: ExpiryOptions): KeyExpiry {
  let id: string;
  try {
    id = k.canonicalId;
  } catch {
    id = k.id;
  }
  const out: KeyExpiry = { id };
  if (!k.isX509) return out;
  try {
    const der = certificatesFromPem(k.pub.toString('latin1')).ders[0];
    if (der) {
      const end = inspectCertificate(der).notAfter;
      out.certExpires = end;
      out.certStatus = statusOf(end, opts.now, opts.withinMs);
    }
  } catch {
    // a certificate that does not parse signs nothing: verification already said so
  }
  return out;
}

/** True when anything in the rows is alarming: a role (see RoleExpiry.alarming) or a certificate within the window. */
export function isAlarming(rows: readonly RoleExpiry[]): boolean {
  return rows.some((r) => r.alarming || r.keys.some((k) => k.certStatus !== undefined && k.certStatus !== 'ok'));
}
