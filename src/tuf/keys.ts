// TUF public keys: key IDs (formats.md §3.2) and the certificate-vs-canonical distinction (§3.3).

import type { KeyObject } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.js';
import { leafCertificate, publicKeyObject, spkiDer } from '../crypto/signature.js';
import { canonicalString } from './canonical.js';
import { Ctx, base64, get, object, str } from './guards.js';
import type { Json, JsonObject } from './json.js';

export class PublicKey {
  private cachedId: string | undefined;
  private cachedObject: KeyObject | undefined;

  constructor(
    readonly keytype: string,
    /** The decoded `keyval.public` bytes. */
    readonly pub: Buffer,
  ) {}

  /** The TUF key ID: SHA-256 of the canonical key JSON (for x509 keys, over the certificate). */
  get id(): string {
    this.cachedId ??= sha256Hex(canonicalString(this.toJson(), 'sign'));
    return this.cachedId;
  }

  get isX509(): boolean {
    return this.keytype === 'ecdsa-x509' || this.keytype === 'rsa-x509';
  }

  /** The ID of the plain key inside (what key files are named by and the CLI shows). */
  get canonicalId(): string {
    return this.isX509 ? this.plain().id : this.id;
  }

  /** The equivalent non-certificate key (ecdsa or rsa with DER SPKI). */
  plain(): PublicKey {
    if (!this.isX509) return this;
    const cert = leafCertificate(this.pub);
    return new PublicKey(this.keytype === 'ecdsa-x509' ? 'ecdsa' : 'rsa', spkiDer(cert.publicKey));
  }

  /** The node:crypto verifying key; throws CryptoError for unusable keys. */
  keyObject(): KeyObject {
    this.cachedObject ??= publicKeyObject(this.keytype, this.pub);
    return this.cachedObject;
  }

  toJson(): JsonObject {
    return {
      keytype: this.keytype,
      keyval: { private: null, public: this.pub.toString('base64') },
    };
  }
}

export function parsePublicKey(v: Json | undefined, ctx: Ctx): PublicKey {
  const o = object(v, ctx, ['keytype', 'keyval']);
  const keytype = str(get(o, 'keytype'), ctx.at('keytype'));
  const kv = object(get(o, 'keyval'), ctx.at('keyval'), ['public', 'private']);
  const priv = get(kv, 'private');
  if (priv !== undefined && priv !== null) ctx.at('keyval.private').fail('a public key must not carry private key material');
  return new PublicKey(keytype, base64(get(kv, 'public'), ctx.at('keyval.public')));
}
