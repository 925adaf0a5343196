// The changes docker's verbs publish at once (never staged in the changelist): a tag signed into
// or removed from roles, and a signer's keys (docker's addStagedSigner).

import { encodeDelegationData, encodeTargetData } from '../client/changes.js';
import type { StagedChange } from '../storage/changelist.js';
import type { PublicKey } from '../tuf/keys.js';
import { RELEASES_ROLE } from './trustdata.js';

export function change(c: Omit<StagedChange, 'file' | 'index'>, n: number): StagedChange {
  return { ...c, file: `(docker change ${n})`, index: n };
}

export function targetChanges(roles: readonly string[], tag: string, sha: Buffer, size: number, action: 'create' | 'delete'): StagedChange[] {
  const data = action === 'create' ? encodeTargetData({ length: size, hashes: new Map([['sha256', sha]]) }) : null;
  return roles.map((role, i) => change({ action, scope: role, type: 'target', path: tag, data }, 100 + i));
}

/** docker's addStagedSigner: the keys with all paths, in targets/<name> and in targets/releases. */
export function signerChanges(role: string, keys: PublicKey[]): StagedChange[] {
  const out: StagedChange[] = [];
  for (const r of [role, RELEASES_ROLE]) {
    out.push(change({ action: 'create', scope: r, type: 'delegation', path: '', data: encodeDelegationData({ threshold: 1, addKeys: keys }) }, out.length));
    out.push(change({ action: 'create', scope: r, type: 'delegation', path: '', data: encodeDelegationData({ addPaths: [''] }) }, out.length));
  }
  return out;
}
