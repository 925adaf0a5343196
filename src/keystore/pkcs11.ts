// Root keys on a PKCS#11 token (a YubiKey in notary's world; SoftHSM2 in the tests), in the
// layout notary 0.7 uses (trustmanager/yubikey/yubikeystore.go), so that a root key either tool
// put on a token is usable by the other:
//  - a key lives in one of 4 "slots", the one-byte CKA_ID 0..3, taken in notary's order
//    2, 1, 3, 0 (PIV slots 9c, 9e, 9d, 9a); a slot is taken when any token object has that ID;
//  - each key is a certificate object (CKO_CERTIFICATE, DER in CKA_VALUE, CN = the role, i.e.
//    `root`, self-signed, 10 years) and an EC P-256 private key object (CKA_EC_PARAMS = the
//    prime256v1 OID, CKA_VALUE = the 32-byte scalar), plus the public key object a YubiKey shows
//    for a filled slot (CKA_EC_POINT, DER OCTET STRING of the uncompressed point), which notary
//    reads and which other tokens do not make by themselves;
//  - keys are listed from the certificate objects (key ID = the canonical ID of the certificate's
//    public key), and sign with CKM_ECDSA over SHA-256 of the data (raw r‖s, notary's format).
// On a YubiKey (manufacturer "Yubico") the objects are written with notary's exact templates
// after an SO login with the PIV management key (notary's default first, as notary), and
// removing a key deletes its certificate only (PIV keys cannot be deleted, only overwritten).
// On other tokens (SoftHSM2, ...) the user PIN opens the session for writing too (an SO may not
// create private objects there), and objects carry the attributes PKCS#11 asks for (CKA_TOKEN,
// CKA_SUBJECT, CKA_SENSITIVE, ...).
// Differences from notary, on purpose:
//  - the user PIN comes from DTRUST_PKCS11_PIN or a prompt, never a guessed default: every wrong
//    PIN counts towards locking the token (notary tries 123456 first on every signature);
//  - only root keys are ever offered to the token (`accepts`), so importing other keys prints no
//    error (cli.md §12 item 1);
//  - a generated root key is backed up, encrypted, in the file store, and if that backup cannot
//    be written the token key is removed again (SEC-F8: no orphans); we say where the copy is;
//  - signatures are checked against the public key and retried at most 3 times (notary: 5).
// This module is imported lazily, when a module is configured or found. Beside it:
// pkcs11-api.ts (the pkcs11js calls and constants), pkcs11-loader.ts (loading the driver),
// pkcs11-layout.ts (notary's slots and object templates), pkcs11-pin.ts (where PINs come from).

import { createHash, type KeyObject } from 'node:crypto';
import type { PrivateKeyData } from '../crypto/keyfile.js';
import { inspectCertificate } from '../crypto/x509.js';
import { verifySignature } from '../crypto/signature.js';
import { PublicKey } from '../tuf/keys.js';
import type { Signer } from '../tuf/sign.js';
import { KeyStoreError, isKeyStoreError, shortId } from './errors.js';
import { validateKeyId, validateRole } from './names.js';
import type { Env, PromptIO } from './passphrase.js';
import {
  CKA_CLASS,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_TOKEN,
  CKA_VALUE,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKF_TOKEN_INITIALIZED,
  CKF_USER_PIN_LOCKED,
  CKK_EC,
  CKM_ECDSA,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKR,
  CKU_SO,
  CKU_USER,
  ckrCode,
  ckrName,
  type P11Attribute,
  type P11Handle,
  type P11TokenInfo,
  type Pkcs11Api,
} from './pkcs11-api.js';
import { PIV_SLOT_NAMES, SLOT_ORDER, TOKEN_SLOTS, keyObjectTemplates, tokenCertificate } from './pkcs11-layout.js';
import { loadPkcs11Module, onExit, type Pkcs11Factory } from './pkcs11-loader.js';
import { PinRetriever, pinLockedError, type PinKind } from './pkcs11-pin.js';
import { checkUse, keyIdOf } from './signer.js';
import type { AddKeyOptions, KeyRecord, KeySigner, KeyStore, Logger, SignerOptions } from './types.js';

/** The touch notice notary prints before a YubiKey signs. */
const TOUCH_NOTICE = 'Please touch the attached Yubikey to perform signing.';
/** Signatures made before giving up (each one is checked against the public key). */
const MAX_SIGN_ATTEMPTS = 3;

/** CKR_ codes that mean the token went away or stopped answering. */
const REMOVED_CODES: ReadonlySet<number> = new Set([
  CKR.DEVICE_REMOVED,
  CKR.TOKEN_NOT_PRESENT,
  CKR.SESSION_HANDLE_INVALID,
  CKR.SESSION_CLOSED,
  CKR.DEVICE_ERROR,
  CKR.TOKEN_NOT_RECOGNIZED,
]);

export interface BackupStore {
  readonly name: string;
  get(id: string): Promise<KeyRecord | undefined>;
  add(key: PrivateKeyData, opts: AddKeyOptions): Promise<KeyRecord>;
  remove(id: string): Promise<void>;
}

export interface Pkcs11StoreOptions {
  /** Path of the PKCS#11 library. */
  module: string;
  /** Use the token with this label (DTRUST_PKCS11_TOKEN); default: the first initialised token. */
  tokenLabel?: string | undefined;
  /** For DTRUST_PKCS11_PIN / DTRUST_PKCS11_SO_PIN. */
  env: Env;
  /** The terminal for PIN prompts. */
  prompt?: PromptIO | undefined;
  /** Where generated or imported root keys are backed up, encrypted (the file store). */
  backup?: BackupStore | undefined;
  log?: Logger;
  /** Lines for the user (stderr): the backup location, the touch notice. */
  notice?: (line: string) => void;
  /** Print the touch notice before signing (default: on a YubiKey, whose keys notary makes touch-only). */
  touch?: boolean | undefined;
  /** Instead of pkcs11js (tests). */
  factory?: Pkcs11Factory;
}

interface TokenKey {
  record: KeyRecord;
  slot: number;
  spki: Buffer;
  publicKey: KeyObject;
}

export class Pkcs11KeyStore implements KeyStore {
  readonly kind = 'pkcs11' as const;
  readonly name: string;
  readonly label: string;
  readonly yubikey: boolean;
  private loggedIn: 'user' | 'so' | undefined;
  private keys: Map<string, TokenKey> | undefined;
  private readonly log: Logger;
  private readonly notice: (line: string) => void;
  private readonly touch: boolean;
  private readonly pins: PinRetriever;

  private constructor(
    private readonly api: Pkcs11Api,
    private readonly slot: P11Handle,
    private session: P11Handle,
    readonly info: P11TokenInfo,
    private readonly opts: Pkcs11StoreOptions,
  ) {
    this.label = info.label.trim();
    this.yubikey = /yubico/i.test(info.manufacturerID) || /yubikey/i.test(info.model);
    // notary's LOCATION for its YubiKey store; other tokens are named by label (RFC 7512 style).
    this.name = this.yubikey ? 'yubikey' : `pkcs11:token=${this.label}`;
    this.log = opts.log ?? (() => undefined);
    this.notice = opts.notice ?? (() => undefined);
    this.touch = opts.touch ?? this.yubikey;
    this.pins = new PinRetriever(opts.env, opts.prompt);
  }

  /**
   * Loads the module, picks the token (the first initialised one, or the one labelled
   * `tokenLabel`) and opens a read/write session. Throws TOKEN_UNAVAILABLE with what is wrong.
   */
  static async open(opts: Pkcs11StoreOptions): Promise<Pkcs11KeyStore> {
    const api = await loadPkcs11Module(opts.module, opts.factory);
    let slots: P11Handle[];
    try {
      slots = api.C_GetSlotList(true);
    } catch (e) {
      throw new KeyStoreError('TOKEN_UNAVAILABLE', `the PKCS#11 module ${opts.module} cannot list its slots: ${ckrName(e)}`, {}, e);
    }
    const seen: string[] = [];
    let chosen: { slot: P11Handle; info: P11TokenInfo } | undefined;
    for (const slot of slots) {
      let info: P11TokenInfo;
      try {
        info = api.C_GetTokenInfo(slot);
      } catch {
        continue;
      }
      if ((Number(info.flags) & CKF_TOKEN_INITIALIZED) === 0) continue;
      const label = info.label.trim();
      seen.push(label);
      if (opts.tokenLabel !== undefined && opts.tokenLabel !== '' && label !== opts.tokenLabel) continue;
      chosen = { slot, info };
      break;
    }
    if (!chosen) {
      const wanted = opts.tokenLabel ? ` labelled "${opts.tokenLabel}"` : '';
      throw new KeyStoreError('TOKEN_UNAVAILABLE', `no token${wanted} found through ${opts.module}${seen.length > 0 ? ` (tokens present: ${seen.map((l) => `"${l}"`).join(', ')})` : ''}`, {
        hint: opts.tokenLabel
          ? 'plug in that token, or change DTRUST_PKCS11_TOKEN to one of the labels present'
          : 'plug in the YubiKey (or initialise a token, e.g. softhsm2-util --init-token --free --label dtrust)',
      });
    }
    let session: P11Handle;
    try {
      session = api.C_OpenSession(chosen.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    } catch (e) {
      throw new KeyStoreError('TOKEN_UNAVAILABLE', `cannot open a session with token "${chosen.info.label.trim()}": ${ckrName(e)}`, {}, e);
    }
    const store = new Pkcs11KeyStore(api, chosen.slot, session, chosen.info, opts);
    onExit(() => store.closeNow());
    return store;
  }

  /** Logs out and closes the session (also done when the process exits). */
  closeNow(): void {
    try {
      if (this.loggedIn) this.api.C_Logout(this.session);
    } catch {
      // closing anyway
    }
    this.loggedIn = undefined;
    try {
      this.api.C_CloseSession(this.session);
    } catch {
      // already gone
    }
  }

  accepts(role: string): boolean {
    return role === 'root';
  }

  // ---- errors ----

  /** A KeyStoreError for a failed PKCS#11 call during `what`. */
  private fail(e: unknown, what: string): KeyStoreError {
    if (isKeyStoreError(e)) return e;
    const code = ckrCode(e);
    if (code !== undefined && REMOVED_CODES.has(code)) {
      return new KeyStoreError('TOKEN_REMOVED', `the token "${this.label}" was removed or stopped answering while ${what} (${ckrName(e)})`, {
        hint: 'plug the token back in and run the command again; keys are only deleted after a replacement is safe',
      }, e);
    }
    if (code === CKR.PIN_LOCKED) return pinLockedError(this, e);
    if (code === CKR.FUNCTION_CANCELED || code === CKR.FUNCTION_REJECTED) {
      return new KeyStoreError('TOKEN_ERROR', `the token "${this.label}" refused ${what} (${ckrName(e)})`, {
        hint: this.touch ? 'touch the token when it blinks, within its timeout, and run the command again' : 'confirm the operation on the token and run the command again',
      }, e);
    }
    return new KeyStoreError('TOKEN_ERROR', `the token "${this.label}" failed while ${what}: ${ckrName(e)}`, {}, e);
  }

  private call<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw this.fail(e, what);
    }
  }

  private tokenFlags(): number {
    try {
      return Number(this.api.C_GetTokenInfo(this.slot).flags);
    } catch (e) {
      throw this.fail(e, 'reading the token status');
    }
  }

  // ---- logging in ----

  private async ensureLogin(kind: PinKind): Promise<void> {
    if (this.loggedIn === kind) return;
    if (this.loggedIn !== undefined) {
      try {
        this.api.C_Logout(this.session);
      } catch {
        // logged out anyway
      }
      this.loggedIn = undefined;
    }
    if (kind === 'user' && (this.tokenFlags() & CKF_USER_PIN_LOCKED) !== 0) throw pinLockedError(this);
    await this.pins.logIn(kind, { label: this.label, yubikey: this.yubikey, tryPin: (pin) => this.tryLogin(kind, pin), flags: () => this.tokenFlags() });
    this.loggedIn = kind;
  }

  /** C_Login: true when logged in, false when the PIN is wrong; other failures throw. */
  private tryLogin(kind: PinKind, pin: string): boolean {
    const userType = kind === 'so' ? CKU_SO : CKU_USER;
    try {
      this.api.C_Login(this.session, userType, pin);
      return true;
    } catch (e) {
      const code = ckrCode(e);
      if (code === CKR.USER_ALREADY_LOGGED_IN) return true;
      if (code === CKR.PIN_INCORRECT) return false;
      if (code === CKR.USER_ANOTHER_ALREADY_LOGGED_IN) {
        try {
          this.api.C_Logout(this.session);
          this.api.C_Login(this.session, userType, pin);
          return true;
        } catch (e2) {
          if (ckrCode(e2) === CKR.PIN_INCORRECT) return false;
          throw this.fail(e2, 'logging in');
        }
      }
      throw this.fail(e, 'logging in');
    }
  }

  /** The login that lets this token create and destroy objects. */
  private writeLogin(): Promise<void> {
    return this.ensureLogin(this.yubikey ? 'so' : 'user');
  }

  // ---- objects ----

  private findObjects(template: P11Attribute[], what: string): P11Handle[] {
    return this.call(what, () => {
      this.api.C_FindObjectsInit(this.session, template);
      const out: P11Handle[] = [];
      try {
        for (;;) {
          const batch = this.api.C_FindObjects(this.session, 16);
          if (batch.length === 0) break;
          out.push(...batch);
          if (out.length > 4096) break;
        }
      } finally {
        this.api.C_FindObjectsFinal(this.session);
      }
      return out;
    });
  }

  private attribute(object: P11Handle, type: number): Buffer | undefined {
    try {
      const [a] = this.api.C_GetAttributeValue(this.session, object, [{ type }]);
      return Buffer.isBuffer(a?.value) ? a.value : undefined;
    } catch (e) {
      const code = ckrCode(e);
      if (code !== undefined && REMOVED_CODES.has(code)) throw this.fail(e, 'reading the token');
      return undefined;
    }
  }

  /** The root keys on the token, from its certificate objects (notary's yubiListKeys). */
  private scan(): Map<string, TokenKey> {
    if (this.keys) return this.keys;
    const keys = new Map<string, TokenKey>();
    for (const o of this.findObjects([
      { type: CKA_TOKEN, value: true },
      { type: CKA_CLASS, value: CKO_CERTIFICATE },
    ], 'listing its keys')) {
      const id = this.attribute(o, CKA_ID);
      const der = this.attribute(o, CKA_VALUE);
      if (!id || id.length < 1 || !der) continue;
      let role: string | null;
      let publicKey: KeyObject;
      try {
        const info = inspectCertificate(der);
        role = info.commonName;
        publicKey = info.publicKey;
      } catch (e) {
        this.log('debug', `skipping a certificate on token "${this.label}": ${(e as Error).message}`);
        continue;
      }
      if (role !== 'root') {
        this.log('debug', `skipping the certificate in slot ${id[0]} of token "${this.label}": its CN is ${JSON.stringify(role)}, not a root key`);
        continue;
      }
      if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        this.log('debug', `skipping the certificate in slot ${id[0]} of token "${this.label}": not an ECDSA P-256 key`);
        continue;
      }
      const spki = publicKey.export({ format: 'der', type: 'spki' });
      const keyId = new PublicKey('ecdsa', spki).id;
      keys.set(keyId, { record: { id: keyId, role, gun: '', location: this.name }, slot: id[0]!, spki, publicKey });
    }
    this.keys = keys;
    return keys;
  }

  async list(): Promise<KeyRecord[]> {
    return [...this.scan().values()].map((k) => ({ ...k.record }));
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const k = this.scan().get(id);
    return k ? { ...k.record } : undefined;
  }

  /** Which of notary's slots a key is in (PIV name), for messages. */
  slotOf(id: string): string | undefined {
    const k = this.scan().get(id);
    return k ? PIV_SLOT_NAMES[k.slot] : undefined;
  }

  async signer(id: string, opts?: SignerOptions): Promise<KeySigner> {
    validateKeyId(id);
    const k = this.scan().get(id);
    if (!k) {
      throw new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${id} on token "${this.label}"`, {
        keyId: id,
        hint: 'run `key list` to see the keys on the token',
      });
    }
    checkUse(k.record, opts);
    const publicKey = new PublicKey('ecdsa', k.spki);
    const sign = async (data: Buffer): Promise<{ method: string; sig: Buffer }> => ({ method: 'ecdsa', sig: await this.signRaw(k, data) });
    const signerFor = (listed: PublicKey): Signer => ({ publicKey: listed, sign });
    return {
      ...signerFor(publicKey),
      keyId: id,
      role: k.record.role,
      gun: '',
      algorithm: 'ecdsa',
      privateKeyObject: undefined,
      withPublicKey(other: PublicKey): Signer {
        if (other.canonicalId !== id) {
          throw new KeyStoreError('KEY_ID_MISMATCH', `key ${other.id} is not key ${id}`, { keyId: id });
        }
        return signerFor(other);
      },
    };
  }

  /** ECDSA P-256 over SHA-256(data) on the token: raw r‖s, checked, at most 3 tries. */
  private async signRaw(k: TokenKey, data: Buffer): Promise<Buffer> {
    await this.ensureLogin('user');
    const digest = createHash('sha256').update(data).digest();
    let relogged = false;
    for (let attempt = 1; attempt <= MAX_SIGN_ATTEMPTS; attempt++) {
      let sig: Buffer;
      try {
        const [key] = this.findObjectsRaw([
          { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
          { type: CKA_KEY_TYPE, value: CKK_EC },
          { type: CKA_ID, value: Buffer.from([k.slot]) },
        ]);
        if (!key) {
          throw new KeyStoreError('KEY_NOT_FOUND', `the token "${this.label}" has no private key in slot ${PIV_SLOT_NAMES[k.slot]} for key ${shortId(k.record.id)}`, {
            keyId: k.record.id,
            hint: 'the certificate is there but the key is not: sign with the backup copy (run with --pkcs11-module none)',
          });
        }
        this.api.C_SignInit(this.session, { mechanism: CKM_ECDSA }, key);
        if (this.touch) this.notice(TOUCH_NOTICE);
        sig = this.api.C_Sign(this.session, digest, Buffer.alloc(132));
      } catch (e) {
        if (!relogged && ckrCode(e) === CKR.USER_NOT_LOGGED_IN) {
          // Some tokens log out after each signature (PIN-always keys).
          relogged = true;
          this.loggedIn = undefined;
          await this.ensureLogin('user');
          attempt--;
          continue;
        }
        throw this.fail(e, 'signing');
      }
      if (sig.length === 64 && verifySignature('ecdsa', k.publicKey, 'ecdsa', data, sig)) return Buffer.from(sig);
      this.log('warning', `the token "${this.label}" returned a signature that does not verify (attempt ${attempt} of ${MAX_SIGN_ATTEMPTS})`);
    }
    throw new KeyStoreError('TOKEN_ERROR', `the token "${this.label}" did not produce a valid signature with key ${shortId(k.record.id)} in ${MAX_SIGN_ATTEMPTS} attempts`, {
      keyId: k.record.id,
      hint: this.touch ? 'was touch input provided? Run the command again and touch the token when it blinks' : 'run the command again; if it keeps failing, sign with the backup copy (--pkcs11-module none)',
    });
  }

  /** findObjects without error mapping (callers map). */
  private findObjectsRaw(template: P11Attribute[]): P11Handle[] {
    this.api.C_FindObjectsInit(this.session, template);
    try {
      return this.api.C_FindObjects(this.session, 4);
    } finally {
      this.api.C_FindObjectsFinal(this.session);
    }
  }

  /** The first free slot in notary's order, or TOKEN_FULL. */
  private freeSlot(): number {
    const taken = new Set<number>();
    for (const o of this.findObjects([{ type: CKA_TOKEN, value: true }], 'looking for a free slot')) {
      const id = this.attribute(o, CKA_ID);
      if (id && id.length >= 1 && id[0]! < TOKEN_SLOTS) taken.add(id[0]!);
    }
    const free = SLOT_ORDER.find((s) => !taken.has(s));
    if (free === undefined) {
      throw new KeyStoreError('TOKEN_FULL', `token "${this.label}" has no free key slot: all ${TOKEN_SLOTS} slots notary uses (9a, 9c, 9d, 9e) are taken`, {
        hint: 'remove a root key you no longer use from the token (dtrust key list, then dtrust key remove <id>), or run with --pkcs11-module none to keep this key on disk',
      });
    }
    return free;
  }

  /** Stores a root key (ECDSA P-256) on the token, then its encrypted backup on disk. */
  async add(key: PrivateKeyData, opts: AddKeyOptions): Promise<KeyRecord> {
    const role = validateRole(opts.role);
    if (!this.accepts(role)) {
      throw new KeyStoreError('NOT_SUPPORTED', `token "${this.label}" holds root keys only, not ${role} keys`, { role });
    }
    if (key.algorithm !== 'ecdsa' || key.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new KeyStoreError('NOT_SUPPORTED', `token "${this.label}" holds ECDSA P-256 keys only (notary's layout), not this ${key.algorithm} key`, { role });
    }
    const id = keyIdOf(key);
    const existing = this.scan().get(id);
    if (existing) return { ...existing.record };
    await this.writeLogin();
    const slot = this.freeSlot();
    const created = await this.writeObjects(key, role, slot);
    const record: KeyRecord = { id, role, gun: '', location: this.name };
    this.scan().set(id, { record, slot, spki: key.publicKey.export({ format: 'der', type: 'spki' }), publicKey: key.publicKey });
    const where = `token "${this.label}" (slot ${PIV_SLOT_NAMES[slot]})`;
    const backup = this.opts.backup;
    if (!backup) {
      this.notice(`Root key ${id} was stored on ${where}; no backup copy was written.`);
      return { ...record };
    }
    let had: KeyRecord | undefined;
    try {
      had = await backup.get(id);
    } catch {
      had = undefined;
    }
    if (had) {
      this.notice(`Root key ${id} was copied to ${where}; its encrypted copy stays in ${backup.name}.`);
      return { ...record };
    }
    try {
      await backup.add(key, { role });
    } catch (e) {
      // SEC-F8: no token key without its backup.
      try {
        this.destroy(created, 'removing the key whose backup failed');
        this.scan().delete(id);
      } catch (e2) {
        this.log('error', `could not remove key ${id} from ${where} after its backup failed: ${(e2 as Error).message}`);
      }
      throw new KeyStoreError('BACKUP_FAILED', `Failed to backup private key to: ${backup.name}: ${(e as Error).message}; the key was removed from the token again`, {
        keyId: id,
        hint: isKeyStoreError(e) && e.hint ? e.hint : 'fix the problem with the trust directory and run the command again',
      }, e);
    }
    this.notice(`Root key ${id} was generated on ${where}; an encrypted backup copy is in ${backup.name}: keep it offline, it is the only way back if the token is lost.`);
    return { ...record };
  }

  /** Writes certificate, private key and (except on a YubiKey) public key; all or nothing. */
  private async writeObjects(key: PrivateKeyData, role: string, slot: number): Promise<P11Handle[]> {
    const certDer = await tokenCertificate(key, role);
    const { templates, secret } = keyObjectTemplates(key, role, slot, certDer, this.yubikey);
    const created: P11Handle[] = [];
    try {
      for (const t of templates) created.push(this.api.C_CreateObject(this.session, t));
    } catch (e) {
      try {
        this.destroy(created, 'cleaning up');
      } catch {
        // reported through the first error
      }
      throw this.fail(e, 'storing the key');
    } finally {
      secret.fill(0);
    }
    return created;
  }

  private destroy(objects: readonly P11Handle[], what: string): void {
    for (const o of objects) this.call(what, () => this.api.C_DestroyObject(this.session, o));
  }

  async remove(id: string): Promise<void> {
    validateKeyId(id);
    const k = this.scan().get(id);
    if (!k) throw new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${id} on token "${this.label}"`, { keyId: id });
    await this.writeLogin();
    const template: P11Attribute[] = [
      { type: CKA_TOKEN, value: true },
      { type: CKA_ID, value: Buffer.from([k.slot]) },
    ];
    // A YubiKey cannot delete a PIV key: notary deletes the certificate, which frees the slot for
    // listing; other tokens get every object of the slot deleted.
    if (this.yubikey) template.push({ type: CKA_CLASS, value: CKO_CERTIFICATE });
    const objects = this.findObjects(template, 'looking up the key to remove');
    this.destroy(objects, 'removing the key');
    this.scan().delete(id);
  }

  async changePassphrase(id: string): Promise<void> {
    throw new KeyStoreError('NOT_SUPPORTED', `key ${id} is on token "${this.label}": it has no passphrase (the token's PIN protects it)`, {
      keyId: id,
      hint: 'change the PIN with the token\'s own tools (YubiKey: ykman piv access change-pin); `key passwd` changes the passphrase of the backup copy on disk',
    });
  }
}
