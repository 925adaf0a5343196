// The payloads of changelist entries, as notary's Go structs marshal them with encoding/json
// (formats.md §5): target FileMeta, TUFDelegation and TUFRootData. Decoding accepts what notary
// writes; encoding gives the same bytes notary would.

import { canonicalString } from '../tuf/canonical.js';
import { TrustError } from '../tuf/errors.js';
import { Ctx, array, bool, get, int, object, str } from '../tuf/guards.js';
import { parseJson, type Json } from '../tuf/json.js';
import { PublicKey, parsePublicKey } from '../tuf/keys.js';
import { goJsonString, type Change } from '../storage/changelist.js';
import { parseFileMeta, type FileMeta } from '../tuf/metadata.js';

function goKey(k: PublicKey): string {
  return `{"keytype":${goJsonString(k.keytype)},"keyval":{"public":"${k.pub.toString('base64')}","private":null}}`;
}

/** `{"length":N,"hashes":{...},"custom":...}` in Go's field order. `custom` is canonicalised (notary's unsorted-custom bug). */
export function encodeTargetData(meta: FileMeta): Buffer {
  const hashes = [...meta.hashes.keys()]
    .sort()
    .map((alg) => `${goJsonString(alg)}:"${meta.hashes.get(alg)!.toString('base64')}"`)
    .join(',');
  let s = `{"length":${meta.length},"hashes":{${hashes}}`;
  if (meta.custom !== undefined && meta.custom !== null) s += `,"custom":${htmlEscape(canonicalString(meta.custom, 'sign'))}`;
  return Buffer.from(s + '}', 'utf8');
}

/** The changes that stage targets: one `create` per target and role, target by target. */
export function targetChanges(targets: readonly { name: string; meta: FileMeta }[], roles: readonly string[]): Change[] {
  const out: Change[] = [];
  for (const t of targets) {
    const data = encodeTargetData(t.meta);
    for (const role of roles) out.push({ action: 'create', scope: role, type: 'target', path: t.name, data });
  }
  return out;
}

export function decodeTargetData(data: Buffer | null, what: string): FileMeta {
  if (data === null) throw new TrustError('METADATA_INVALID', `${what}: a target change carries no data`);
  return parseFileMeta(parseJson(data, { what }), new Ctx(what));
}

export interface DelegationData {
  newName?: string;
  threshold?: number;
  addKeys?: PublicKey[];
  removeKeys?: string[];
  addPaths?: string[];
  removePaths?: string[];
  clearPaths?: boolean;
}

export function encodeDelegationData(d: DelegationData): Buffer {
  const parts: string[] = [];
  if (d.newName) parts.push(`"new_name":${goJsonString(d.newName)}`);
  if (d.threshold) parts.push(`"threshold":${d.threshold}`);
  if (d.addKeys?.length) parts.push(`"add_keys":[${d.addKeys.map(goKey).join(',')}]`);
  if (d.removeKeys?.length) parts.push(`"remove_keys":[${d.removeKeys.map(goJsonString).join(',')}]`);
  if (d.addPaths?.length) parts.push(`"add_paths":[${d.addPaths.map(goJsonString).join(',')}]`);
  if (d.removePaths?.length) parts.push(`"remove_paths":[${d.removePaths.map(goJsonString).join(',')}]`);
  if (d.clearPaths) parts.push(`"clear_paths":true`);
  return Buffer.from(`{${parts.join(',')}}`, 'utf8');
}

export function decodeDelegationData(data: Buffer | null, what: string): DelegationData {
  if (data === null) return {};
  const ctx = new Ctx(what);
  const o = object(parseJson(data, { what }), ctx);
  const strings = (v: Json | undefined, c: Ctx): string[] | undefined =>
    v === undefined || v === null ? undefined : array(v, c).map((x, i) => str(x, c.at(String(i))));
  const d: DelegationData = {};
  const nn = get(o, 'new_name');
  if (nn !== undefined && nn !== null) d.newName = str(nn, ctx.at('new_name'));
  const th = get(o, 'threshold');
  if (th !== undefined && th !== null) d.threshold = int(th, ctx.at('threshold'), 0);
  const ak = get(o, 'add_keys');
  if (ak !== undefined && ak !== null) d.addKeys = array(ak, ctx.at('add_keys')).map((k, i) => parsePublicKey(k, ctx.at(`add_keys.${i}`)));
  d.removeKeys = strings(get(o, 'remove_keys'), ctx.at('remove_keys'));
  d.addPaths = strings(get(o, 'add_paths'), ctx.at('add_paths'));
  d.removePaths = strings(get(o, 'remove_paths'), ctx.at('remove_paths'));
  const cp = get(o, 'clear_paths');
  if (cp !== undefined && cp !== null) d.clearPaths = bool(cp, ctx.at('clear_paths'));
  return d;
}

export function encodeRootData(role: string, keys: PublicKey[]): Buffer {
  return Buffer.from(`{"keys":[${keys.map(goKey).join(',')}],"role":${goJsonString(role)}}`, 'utf8');
}

export function decodeRootData(data: Buffer | null, what: string): { role: string; keys: PublicKey[] } {
  if (data === null) throw new TrustError('METADATA_INVALID', `${what}: a root change carries no data`);
  const ctx = new Ctx(what);
  const o = object(parseJson(data, { what }), ctx);
  return {
    role: str(get(o, 'role'), ctx.at('role')),
    keys: array(get(o, 'keys'), ctx.at('keys')).map((k, i) => parsePublicKey(k, ctx.at(`keys.${i}`))),
  };
}

function htmlEscape(s: string): string {
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
