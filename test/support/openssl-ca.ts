// Certificate authorities and certificates made with openssl, as users make them for notary's
// CA trust pinning (`init --rootkey KEY --rootcert CERT`): P-256 keys, the root key also as an
// encrypted PKCS#8 file notary 0.7 can read (PBES2, AES-256-CBC, PBKDF2 with HMAC-SHA1).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Made {
  /** PEM certificate file. */
  cert: string;
  /** Unencrypted PEM private key file. */
  key: string;
}

export interface Issued extends Made {
  /** With a passphrase: the key as an encrypted PKCS#8 file (for --rootkey / key import). */
  encryptedKey?: string;
}

export const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
export const LEAF_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';

function openssl(args: readonly string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}\n${r.stderr}`);
}

/** `-subj` form of a common name (a GUN's slashes escaped). */
function subj(cn: string): string {
  return '/CN=' + cn.replace(/\//g, '\\/');
}

/** A self-signed certificate (a CA unless `ext` says otherwise) and its key, `<dir>/<name>.pem|.key`. */
export function makeCa(dir: string, name: string, opts: { cn?: string; ext?: string; days?: number } = {}): Made {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, opts.ext ?? CA_EXT);
  openssl(['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', key]);
  openssl(['req', '-new', '-key', key, '-subj', subj(opts.cn ?? name), '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-signkey', key, '-set_serial', serial(), '-days', String(opts.days ?? 3650), '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/**
 * A certificate for `cn` issued by `issuer` (its key signs, whatever the issuer's certificate
 * allows), with the extensions in `ext` (openssl extension file lines, default LEAF_EXT).
 */
export function issue(dir: string, name: string, opts: { cn: string; issuer: Made; ext?: string; days?: number; passphrase?: string }): Issued {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, opts.ext ?? LEAF_EXT);
  openssl(['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', key]);
  const encryptedKey = opts.passphrase === undefined ? undefined : join(dir, `${name}.enc.key`);
  if (encryptedKey !== undefined) {
    openssl(['pkcs8', '-topk8', '-in', key, '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1', '-passout', `pass:${opts.passphrase!}`, '-out', encryptedKey]);
  }
  openssl(['req', '-new', '-key', key, '-subj', subj(opts.cn), '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', opts.issuer.cert, '-CAkey', opts.issuer.key, '-set_serial', serial(), '-days', String(opts.days ?? 365), '-extfile', ext, '-out', cert]);
  return encryptedKey === undefined ? { cert, key } : { cert, key, encryptedKey };
}

/** The DER of a PEM certificate file. */
export function certDer(pemFile: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(readFileSync(pemFile, 'latin1'));
  assert.ok(m, `${pemFile} holds a certificate`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

function serial(): string {
  return '0x' + randomBytes(8).toString('hex').replace(/^[89a-f]/, '1');
}
