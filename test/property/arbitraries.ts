// Random JSON values and random metadata in notary's form.
import fc from 'fast-check';
import type { Json, JsonObject } from '../../src/tuf/json.js';
import type { Expires } from '../../src/tuf/expires.js';
import type { Signature } from '../../src/tuf/envelope.js';
import { PublicKey } from '../../src/tuf/keys.js';
import type { DelegationRole, FileMeta, Metadata, RoleKeys, Root, Snapshot, Targets, Timestamp } from '../../src/tuf/metadata.js';

/**
 * Characters where canonical JSON is delicate: the HTML escapes, quote and backslash, the
 * UTF-16 vs UTF-8 order around surrogate pairs (U+E000, U+FFFF against U+10000), non-ASCII.
 */
const DELICATE = ['a', 'b', 'A', '_', '/', ' ', '0', '<', '>', '&', '"', '\\', '\u007f', '\u00e9', '\u2028', '\u2029', '\ue000', '\uffff', '\u{10000}', '\u{1f600}'];

/** A short string over the delicate characters (so that keys often share prefixes). */
export const delicateString = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...DELICATE), maxLength });

/** Any code point but C0 controls, which notary cannot store. */
const storable = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replace(/[\u0000-\u001f]/g, '?'));

export const jsonString: fc.Arbitrary<string> = fc.oneof(delicateString(12), storable);

/** Integers that the scanner takes (at most 15 digits) or not (16 digits, up to 2^53). */
export const jsonInteger = (maxDigits15: boolean): fc.Arbitrary<number> =>
  maxDigits15 ? fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }) : fc.maxSafeInteger();

function objectOf(entries: [string, Json][]): JsonObject {
  const o: JsonObject = Object.create(null) as JsonObject;
  for (const [k, v] of entries) o[k] = v;
  return o;
}

/** JSON notary can sign: no floats, integers within 2^53, no control characters. */
export function jsonValue(opts: { maxDigits15?: boolean } = {}): fc.Arbitrary<Json> {
  const key = fc.oneof(delicateString(4), fc.constantFrom('__proto__', 'constructor', 'toString', 'signed', 'targets'));
  const { value } = fc.letrec<{ value: Json; leaf: Json; array: Json[]; object: JsonObject }>((tie) => ({
    leaf: fc.oneof(fc.constant(null), fc.boolean(), jsonInteger(opts.maxDigits15 ?? false), jsonString),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map(objectOf),
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  }));
  return value;
}

/** The keys of every object in a value. */
export function keysOf(v: Json): string[] {
  if (Array.isArray(v)) return v.flatMap(keysOf);
  if (v !== null && typeof v === 'object') return Object.keys(v).flatMap((k) => [k, ...keysOf(v[k]!)]);
  return [];
}

// ---------------------------------------------------------------------------------------------
// Metadata

const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

/** An instant as Go writes it: whole seconds of a wall clock, nanoseconds, a zone offset. */
export const expiresArb: fc.Arbitrary<Expires> = fc
  .record({
    wallSeconds: fc.integer({ min: Date.UTC(1000, 0, 1) / 1000, max: Date.UTC(9998, 11, 31) / 1000 }),
    nanos: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 })),
    offsetMinutes: fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
  })
  .map(({ wallSeconds, nanos, offsetMinutes }) => ({ ms: wallSeconds * 1000 - offsetMinutes * 60_000 + Math.floor(nanos / 1e6), nanos, offsetMinutes }));

const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const keyType = fc.constantFrom('ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509', 'x');
const publicKey = fc.tuple(keyType, bytes(48)).map(([t, pub]) => new PublicKey(t, pub));
const keyMap = fc.array(fc.tuple(hexId, publicKey), { maxLength: 3 }).map((e) => new Map(e));
const keyIds = fc.option(fc.array(fc.oneof(hexId, delicateString(4)), { maxLength: 3 }), { nil: null });
const roleKeys: fc.Arbitrary<RoleKeys> = fc.record({ keyids: keyIds, threshold: fc.integer({ min: 1, max: 2 ** 31 }) });

const hashName = fc.oneof(fc.constantFrom('sha256', 'sha512', 'md5'), fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), delicateString(3));

export const fileMetaArb: fc.Arbitrary<FileMeta> = fc
  .record({
    length: fc.oneof(fc.nat({ max: 10 ** 6 }), fc.maxSafeNat()),
    hashes: fc.array(fc.tuple(hashName, fc.oneof(bytes(64), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)))), { maxLength: 3 }).map((e) => new Map(e)),
    custom: fc.option(jsonValue({ maxDigits15: true }), { nil: undefined, freq: 4 }),
  })
  .map(({ length, hashes, custom }) => (custom === undefined || custom === null ? { length, hashes } : { length, hashes, custom }));

const targetName = fc.oneof(delicateString(10), jsonString, fc.stringMatching(/^[a-z0-9._/-]{1,20}$/));
const version = fc.oneof(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const roleName = fc.oneof(fc.stringMatching(/^targets\/[a-z0-9_-]{1,10}(\/[a-z0-9_-]{1,10})?$/), delicateString(6));

const delegationRole: fc.Arbitrary<DelegationRole> = fc.record({
  name: roleName,
  keyids: keyIds,
  threshold: fc.integer({ min: 1, max: 3 }),
  paths: fc.array(fc.oneof(delicateString(6), fc.constant('')), { maxLength: 3 }),
});

export const targetsArb: fc.Arbitrary<Targets> = fc.record({
  _type: fc.constant('Targets' as const),
  expires: expiresArb,
  version,
  delegations: fc.record({ keys: keyMap, roles: fc.array(delegationRole, { maxLength: 3 }) }),
  targets: fc.array(fc.tuple(targetName, fileMetaArb), { maxLength: 12 }).map((e) => new Map(e)),
});

export const rootArb: fc.Arbitrary<Root> = fc.record({
  _type: fc.constant('Root' as const),
  expires: expiresArb,
  version,
  consistentSnapshot: fc.boolean(),
  keys: keyMap,
  roles: fc.array(fc.tuple(fc.oneof(fc.constantFrom('root', 'targets', 'snapshot', 'timestamp'), roleName), roleKeys), { maxLength: 5 }).map((e) => new Map(e)),
});

const metaMap = fc.array(fc.tuple(fc.oneof(fc.constantFrom('root', 'targets', 'snapshot'), roleName), fileMetaArb), { maxLength: 5 }).map((e) => new Map(e));

export const snapshotArb: fc.Arbitrary<Snapshot> = fc.record({ _type: fc.constant('Snapshot' as const), expires: expiresArb, version, meta: metaMap });
export const timestampArb: fc.Arbitrary<Timestamp> = fc.record({ _type: fc.constant('Timestamp' as const), expires: expiresArb, version, meta: metaMap });

/** A random role file's model and the role it is read as. */
export const metadataArb: fc.Arbitrary<{ role: string; meta: Metadata }> = fc.oneof(
  rootArb.map((meta) => ({ role: 'root', meta })),
  targetsArb.map((meta) => ({ role: 'targets', meta })),
  targetsArb.map((meta) => ({ role: 'targets/releases', meta })),
  snapshotArb.map((meta) => ({ role: 'snapshot', meta })),
  timestampArb.map((meta) => ({ role: 'timestamp', meta })),
);

export const signaturesArb: fc.Arbitrary<Signature[]> = fc.array(
  fc.record({ keyid: fc.oneof(hexId, delicateString(4)), method: fc.constantFrom('ecdsa', 'eddsa', 'rsapss', 'x'), sig: bytes(72) }),
  { maxLength: 3 },
);
