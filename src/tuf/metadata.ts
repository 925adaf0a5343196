// The metadata model (formats.md §2): parsed from JSON with guards, serialised exactly as Go's
// struct path would re-serialise it (unknown fields dropped, `delegations` always present,
// empty `paths` left out, `"private":null` in every key).

import { sha256, sha512 } from '../crypto/hash.js';
import { TrustError } from './errors.js';
import { formatExpires, parseExpires, type Expires } from './expires.js';
import { Ctx, array, base64, bool, get, int, object, str, stringsOrNull } from './guards.js';
import type { Json, JsonObject } from './json.js';
import { PublicKey, parsePublicKey } from './keys.js';

export type RoleType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';

export interface RoleKeys {
  keyids: string[] | null;
  threshold: number;
}

export interface FileMeta {
  length: number;
  hashes: Map<string, Buffer>;
  /** Arbitrary JSON kept from `custom`; absent when missing or null. */
  custom?: Json;
}

/** The length and both hashes of a file, as snapshot and targets list them. */
export function fileMeta(bytes: Uint8Array): FileMeta {
  return { length: bytes.length, hashes: new Map([['sha256', sha256(bytes)], ['sha512', sha512(bytes)]]) };
}

export interface DelegationRole extends RoleKeys {
  name: string;
  paths: string[];
}

interface Common {
  expires: Expires;
  version: number;
}

export interface Root extends Common {
  _type: 'Root';
  consistentSnapshot: boolean;
  keys: Map<string, PublicKey>;
  roles: Map<string, RoleKeys>;
}

export interface Targets extends Common {
  _type: 'Targets';
  delegations: { keys: Map<string, PublicKey>; roles: DelegationRole[] };
  targets: Map<string, FileMeta>;
}

export interface Snapshot extends Common {
  _type: 'Snapshot';
  meta: Map<string, FileMeta>;
}

export interface Timestamp extends Common {
  _type: 'Timestamp';
  meta: Map<string, FileMeta>;
}

export type Metadata = Root | Targets | Snapshot | Timestamp;

export const BASE_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type BaseRole = (typeof BASE_ROLES)[number];

/** notary-server breaks when a version overflows int32 (Cure53 TUF-01-002). */
export const MAX_AUTHORED_VERSION = 2147483647;

// ---------------------------------------------------------------------------------------------
// Parsing

function common(o: JsonObject, type: RoleType, ctx: Ctx): Common {
  const t = str(get(o, '_type'), ctx.at('_type'));
  if (t !== type) {
    throw new TrustError('WRONG_TYPE', `${ctx.role}: expected _type ${type}, found ${JSON.stringify(t)}`, {
      role: ctx.role,
      field: '_type',
      found: t,
      needed: type,
    });
  }
  return {
    expires: parseExpires(str(get(o, 'expires'), ctx.at('expires')), ctx.role),
    version: int(get(o, 'version'), ctx.at('version'), 1),
  };
}

function roleKeys(v: Json | undefined, ctx: Ctx): RoleKeys {
  const o = object(v, ctx, ['keyids', 'threshold']);
  return {
    keyids: stringsOrNull(get(o, 'keyids'), ctx.at('keyids')),
    threshold: int(get(o, 'threshold'), ctx.at('threshold'), 1),
  };
}

function keyMap(v: Json | undefined, ctx: Ctx): Map<string, PublicKey> {
  const m = new Map<string, PublicKey>();
  if (v === null || v === undefined) return m;
  const o = object(v, ctx);
  for (const id of Object.keys(o)) m.set(id, parsePublicKey(o[id], ctx.at(id)));
  return m;
}

export function parseFileMeta(v: Json | undefined, ctx: Ctx): FileMeta {
  const o = object(v, ctx, ['length', 'hashes', 'custom']);
  const hashesObj = object(get(o, 'hashes'), ctx.at('hashes'));
  const hashes = new Map<string, Buffer>();
  for (const alg of Object.keys(hashesObj)) hashes.set(alg, base64(hashesObj[alg], ctx.at(alg)));
  const fm: FileMeta = { length: int(get(o, 'length'), ctx.at('length'), 0), hashes };
  const custom = get(o, 'custom');
  if (custom !== undefined && custom !== null) fm.custom = custom;
  return fm;
}

function fileMetaMap(v: Json | undefined, ctx: Ctx): Map<string, FileMeta> {
  const m = new Map<string, FileMeta>();
  if (v === null || v === undefined) return m;
  const o = object(v, ctx);
  for (const name of Object.keys(o)) m.set(name, parseFileMeta(o[name], ctx.at(name)));
  return m;
}

export function parseRoot(v: Json, role = 'root'): Root {
  const ctx = new Ctx(role);
  const o = object(v, ctx, ['_type', 'consistent_snapshot', 'expires', 'keys', 'roles', 'version']);
  const cs = get(o, 'consistent_snapshot');
  const rolesObj = object(get(o, 'roles'), ctx.at('roles'));
  const roles = new Map<string, RoleKeys>();
  for (const name of Object.keys(rolesObj)) roles.set(name, roleKeys(rolesObj[name], ctx.at(`roles.${name}`)));
  return {
    _type: 'Root',
    ...common(o, 'Root', ctx),
    consistentSnapshot: cs === undefined ? false : bool(cs, ctx.at('consistent_snapshot')),
    keys: keyMap(get(o, 'keys'), ctx.at('keys')),
    roles,
  };
}

/**
 * `entries`, when given, reads `targets` in place of the member of `v` (which the caller left
 * out): it is called at the point where the member would be parsed, so errors keep their order.
 */
export function parseTargets(v: Json, role = 'targets', entries?: (ctx: Ctx) => Map<string, FileMeta>): Targets {
  const ctx = new Ctx(role);
  const o = object(v, ctx, ['_type', 'delegations', 'expires', 'targets', 'version']);
  const d = get(o, 'delegations');
  const delegations = { keys: new Map<string, PublicKey>(), roles: [] as DelegationRole[] };
  if (d !== undefined && d !== null) {
    const dctx = ctx.at('delegations');
    const dobj = object(d, dctx, ['keys', 'roles']);
    delegations.keys = keyMap(get(dobj, 'keys'), dctx.at('keys'));
    const roles = get(dobj, 'roles');
    if (roles !== undefined && roles !== null) {
      delegations.roles = array(roles, dctx.at('roles')).map((r, i) => {
        const rctx = dctx.at(`roles.${i}`);
        const ro = object(r, rctx, ['keyids', 'name', 'paths', 'threshold']);
        return {
          ...roleKeys(
            // keyids/threshold are validated by the same rules as root roles
            { keyids: get(ro, 'keyids') ?? null, threshold: get(ro, 'threshold') ?? null },
            rctx,
          ),
          name: str(get(ro, 'name'), rctx.at('name')),
          paths: stringsOrNull(get(ro, 'paths'), rctx.at('paths')) ?? [],
        };
      });
    }
  }
  return {
    _type: 'Targets',
    ...common(o, 'Targets', ctx),
    delegations,
    targets: entries ? entries(ctx.at('targets')) : fileMetaMap(get(o, 'targets'), ctx.at('targets')),
  };
}

export function parseSnapshot(v: Json, role = 'snapshot'): Snapshot {
  const ctx = new Ctx(role);
  const o = object(v, ctx, ['_type', 'expires', 'meta', 'version']);
  return { _type: 'Snapshot', ...common(o, 'Snapshot', ctx), meta: fileMetaMap(get(o, 'meta'), ctx.at('meta')) };
}

export function parseTimestamp(v: Json, role = 'timestamp'): Timestamp {
  const ctx = new Ctx(role);
  const o = object(v, ctx, ['_type', 'expires', 'meta', 'version']);
  return { _type: 'Timestamp', ...common(o, 'Timestamp', ctx), meta: fileMetaMap(get(o, 'meta'), ctx.at('meta')) };
}

// ---------------------------------------------------------------------------------------------
// Serialising (the value tree the canonical encoder turns into bytes)

function keysJson(keys: Map<string, PublicKey>): JsonObject {
  const o: JsonObject = Object.create(null) as JsonObject;
  for (const [id, k] of keys) o[id] = k.toJson();
  return o;
}

function fileMetaJson(fm: FileMeta): JsonObject {
  const hashes: JsonObject = Object.create(null) as JsonObject;
  for (const [alg, h] of fm.hashes) hashes[alg] = h.toString('base64');
  const o: JsonObject = { hashes, length: fm.length };
  if (fm.custom !== undefined && fm.custom !== null) o.custom = fm.custom;
  return o;
}

function fileMetaMapJson(m: Map<string, FileMeta>): JsonObject {
  const o: JsonObject = Object.create(null) as JsonObject;
  for (const [name, fm] of m) o[name] = fileMetaJson(fm);
  return o;
}

function commonJson(m: Metadata): JsonObject {
  return { _type: m._type, expires: formatExpires(m.expires), version: m.version };
}

export function toJson(m: Metadata): JsonObject {
  const o = commonJson(m);
  switch (m._type) {
    case 'Root': {
      o.consistent_snapshot = m.consistentSnapshot;
      o.keys = keysJson(m.keys);
      const roles: JsonObject = Object.create(null) as JsonObject;
      for (const [name, r] of m.roles) roles[name] = { keyids: r.keyids, threshold: r.threshold };
      o.roles = roles;
      break;
    }
    case 'Targets':
      o.delegations = {
        keys: keysJson(m.delegations.keys),
        roles: m.delegations.roles.map((r) => {
          const ro: JsonObject = { keyids: r.keyids, name: r.name, threshold: r.threshold };
          if (r.paths.length > 0) ro.paths = r.paths;
          return ro;
        }),
      };
      o.targets = fileMetaMapJson(m.targets);
      break;
    case 'Snapshot':
    case 'Timestamp':
      o.meta = fileMetaMapJson(m.meta);
      break;
  }
  return o;
}

export function parseSigned(type: RoleType, v: Json, role: string): Metadata {
  switch (type) {
    case 'Root':
      return parseRoot(v, role);
    case 'Targets':
      return parseTargets(v, role);
    case 'Snapshot':
      return parseSnapshot(v, role);
    case 'Timestamp':
      return parseTimestamp(v, role);
  }
}

/** The `_type` a role's file must carry. */
export function typeForRole(role: string): RoleType {
  switch (role) {
    case 'root':
      return 'Root';
    case 'snapshot':
      return 'Snapshot';
    case 'timestamp':
      return 'Timestamp';
    default:
      return 'Targets';
  }
}
