// The signed envelope `{"signed":…,"signatures":[…]}` (formats.md §1.3): reading a file into
// the canonical bytes that signatures cover plus the parsed value, and writing the exact bytes
// Go's encoding/json produces.

import { canonicalBytes, canonicalString, fileFormString } from './canonical.js';
import { TrustError, isTrustError } from './errors.js';
import { Ctx, array, base64, get, object, str } from './guards.js';
import { isJsonObject, parseJson, type Json, type JsonObject } from './json.js';
import { scanCanonical, type MemberSink } from './scan.js';

export interface Signature {
  keyid: string;
  method: string;
  sig: Buffer;
}

export interface Envelope {
  /** The parsed `signed` value (Go's generic view). */
  signed: JsonObject;
  /** notary-canonical bytes of `signed`: what signatures are checked against. */
  canonical: Buffer;
  signatures: Signature[];
  /**
   * True when a sink was given and its object was indexed: that member is then left out of
   * `signed` (the sink holds it). False whenever the file took the general path.
   */
  indexed: boolean;
}

const PREFIX = Buffer.from('{"signed":');
const MIDDLE = Buffer.from(',"signatures":');

/**
 * Parses metadata file bytes. Strict: duplicate keys and case variants are refused. With a sink,
 * a file in notary's form has the members of the sink's top-level object reported to the sink
 * instead of parsed into `signed`; a sink used by a call that returns `indexed: false` holds
 * nothing meaningful.
 */
export function parseEnvelope(bytes: Uint8Array, role: string, sink?: MemberSink): Envelope {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const env = readEnvelope(buf, role, sink);
  // Rollback floors are read from cached files by signedVersion: bytes outside `signed` (which
  // no signature covers) that would read there as another version make the file unusable.
  const shortcut = versionBeforeSignatures(buf);
  if (shortcut !== undefined && shortcut !== env.signed['version']) {
    throw new TrustError('METADATA_INVALID', `${role}: data outside "signed" reads as version ${shortcut}, "signed" has ${JSON.stringify(env.signed['version'])}`, {
      role,
      field: 'version',
    });
  }
  return env;
}

function readEnvelope(buf: Buffer, role: string, sink: MemberSink | undefined): Envelope {
  // Fast path for files in the form notary writes; anything else takes the general path.
  if (buf.subarray(0, PREFIX.length).equals(PREFIX)) {
    const scanned = scanCanonical(buf, PREFIX.length, sink);
    if (scanned && buf.subarray(scanned.end, scanned.end + MIDDLE.length).equals(MIDDLE)) {
      const sigStart = scanned.end + MIDDLE.length;
      const last = buf.length - 1;
      // Members after the signatures (unsigned, e.g. added by a server) leave this path: the
      // general one reads the file as Go does, ignoring them (MV-30).
      const sigs = buf[last] === 0x7d ? signaturesValue(buf.subarray(sigStart, last), role) : undefined;
      if (sigs !== undefined) {
        const cut = scanned.indexed;
        // The indexed object is parsed as {} and then dropped: `signed` keeps only the small members.
        const text = cut
          ? buf.toString('utf8', PREFIX.length, cut.start) + '{}' + buf.toString('utf8', cut.end, scanned.end)
          : buf.toString('utf8', PREFIX.length, scanned.end);
        const signed: unknown = JSON.parse(text);
        if (isPlainObject(signed)) {
          if (cut && sink) delete signed[sink.key];
          return { signed, canonical: scanned.canonical, signatures: parseSignatures(sigs, role), indexed: cut !== undefined };
        }
      }
    }
  }
  const tree = parseJson(buf, { rejectDuplicates: true, what: role });
  const ctx = new Ctx(role);
  const o = object(tree, ctx, ['signed', 'signatures']);
  const signed = object(get(o, 'signed'), ctx.at('signed'));
  return {
    signed,
    canonical: verifyBytes(signed, role),
    signatures: parseSignatures(get(o, 'signatures'), role),
    indexed: false,
  };
}

/** The canonical bytes signatures cover; a value notary's encoder refuses (e.g. 1.5) names the role. */
function verifyBytes(signed: JsonObject, role: string): Buffer {
  try {
    return canonicalBytes(signed, 'verify');
  } catch (e) {
    if (isTrustError(e)) throw new TrustError(e.code, `${role}: ${e.message}`, { ...e.fields, role }, e);
    throw e;
  }
}

/** The signatures array of the fast path, or undefined when more than one value follows `"signatures":`. */
function signaturesValue(region: Buffer, role: string): Json | undefined {
  try {
    return parseJson(region, { rejectDuplicates: true, what: role });
  } catch (e) {
    if (isTrustError(e)) return undefined;
    throw e;
  }
}

function isPlainObject(v: unknown): v is JsonObject {
  // JSON.parse output is JSON by construction; only the top-level shape needs checking.
  return isJsonObject(v as Json);
}

function parseSignatures(v: Json | undefined, role: string): Signature[] {
  const ctx = new Ctx(role, 'signatures');
  if (v === null) return [];
  return array(v, ctx).map((s, i) => {
    const sctx = ctx.at(String(i));
    const o = object(s, sctx, ['keyid', 'method', 'sig']);
    return {
      keyid: str(get(o, 'keyid'), sctx.at('keyid')),
      method: str(get(o, 'method'), sctx.at('method')).toLowerCase(),
      sig: base64(get(o, 'sig'), sctx.at('sig')),
    };
  });
}

/** Canonical signing bytes of a value built by dtrust (strict: refuses what notary cannot keep). */
export function signingBytes(signed: JsonObject): Buffer {
  return canonicalBytes(signed, 'sign');
}

/** The exact file bytes Go writes for a signed value (or its canonical text) and its signatures. */
export function envelopeBytes(signed: JsonObject | string, signatures: readonly Signature[]): Buffer {
  const body = fileFormString(typeof signed === 'string' ? signed : canonicalString(signed, 'sign'));
  return Buffer.from(`{"signed":${body},"signatures":[${signaturesText(signatures)}]}`, 'utf8');
}

/** envelopeBytes around `signed` already in file form (HTML-escaped canonical bytes). */
export function envelopeAround(fileForm: Uint8Array, signatures: readonly Signature[]): Buffer {
  return Buffer.concat([PREFIX, fileForm, Buffer.from(`${MIDDLE.toString('latin1')}[${signaturesText(signatures)}]}`, 'utf8')]);
}

function signaturesText(signatures: readonly Signature[]): string {
  return signatures
    .map((s) => `{"keyid":${JSON.stringify(s.keyid)},"method":${JSON.stringify(s.method)},"sig":"${s.sig.toString('base64')}"}`)
    .join(',');
}

const TAIL = Buffer.from('},"signatures":');

/**
 * The `version` of a metadata file. In notary's form `version` is the last key of `signed`,
 * so it is read from just before the signatures without parsing the whole file.
 */
export function signedVersion(bytes: Uint8Array, role: string): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shortcut = versionBeforeSignatures(buf);
  if (shortcut !== undefined) return shortcut;
  const v = parseEnvelope(bytes, role).signed['version'];
  return typeof v === 'number' ? v : 0;
}

/** `"version":N` just before the last `},"signatures":`, if the file has that. */
function versionBeforeSignatures(buf: Buffer): number | undefined {
  const end = buf.lastIndexOf(TAIL);
  if (end <= 0) return undefined;
  const m = /"version":(\d{1,15})$/.exec(buf.toString('latin1', Math.max(0, end - 40), end));
  return m ? Number(m[1]) : undefined;
}
