// TLS material for the HTTP client, read from disk with notary's messages: a CA file (an
// exclusive pool, as notary's root_ca), docker's extra CA files, a client certificate and key
// (both or neither), and skipVerify. node:tls loads only when a client certificate or extra CAs
// are used (start-up time of commands that need neither).

import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { errnoCode, goErrnoText } from '../fs/errno.js';
import { RemoteError } from './errors.js';

export interface TlsFiles {
  /** The only CAs trusted (notary's --tlscacert). */
  caFile?: string;
  /** CAs trusted beside the default roots (or beside caFile): docker's certificate directories. */
  extraCaFiles?: string[];
  certFile?: string;
  keyFile?: string;
  skipVerify?: boolean;
}

/** TLS material read from disk, ready for the https agent. */
export interface LoadedTls {
  ca?: string;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

function openError(path: string, err: unknown): string {
  return `open ${path}: ${goErrnoText(err) ?? errnoCode(err) ?? ''}`;
}

const MAX_TLS_FILE = 1024 * 1024;

async function readTlsFile(path: string, what: (detail: string) => string, url: string): Promise<Buffer> {
  let b: Buffer;
  try {
    b = await readFile(path);
  } catch (err) {
    throw new RemoteError('CONFIG', what(openError(path, err)), { url, hint: 'check the TLS file paths (--tlscacert, --tlscert, --tlskey)' }, err);
  }
  if (b.length > MAX_TLS_FILE) {
    throw new RemoteError('CONFIG', what(`${path} is larger than 1 MiB`), { url });
  }
  return b;
}

/** The PEM certificates in `pem` that parse, as Go's AppendCertsFromPEM keeps them. */
function certificateBlocks(pem: Buffer): string[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.filter((b) => {
    try {
      new X509Certificate(b);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Reads and checks the TLS files with notary's messages (`unable to configure TLS: …`). As in
 * notary (go-connections tlsconfig), a CA file is not read at all when verification is skipped.
 */
export async function loadTls(files: TlsFiles | undefined, url: string): Promise<LoadedTls> {
  const f = files ?? {};
  const certFile = f.certFile || undefined;
  const keyFile = f.keyFile || undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new RemoteError('CONFIG', 'either pass both client key and cert, or neither', {
      url,
      hint: 'pass --tlscert and --tlskey together (remote_server.tls_client_cert and tls_client_key)',
    });
  }
  const out: LoadedTls = { rejectUnauthorized: f.skipVerify !== true };
  if (f.caFile && !f.skipVerify) {
    const caFile = f.caFile;
    const pem = await readTlsFile(caFile, (d) => `unable to configure TLS: could not read CA certificate ${JSON.stringify(caFile)}: ${d}`, url);
    const good = certificateBlocks(pem);
    if (good.length === 0) {
      throw new RemoteError('CONFIG', `unable to configure TLS: failed to append certificates from PEM file: ${JSON.stringify(caFile)}`, {
        url,
        hint: 'the CA file must contain PEM "CERTIFICATE" blocks',
      });
    }
    out.ca = good.join('\n') + '\n';
  }
  if (f.extraCaFiles !== undefined && f.extraCaFiles.length > 0 && !f.skipVerify) {
    const extra: string[] = [];
    for (const file of f.extraCaFiles) {
      const pem = await readTlsFile(file, (d) => `unable to configure TLS: could not read CA certificate ${JSON.stringify(file)}: ${d}`, url);
      extra.push(...certificateBlocks(pem));
    }
    const roots = out.ca !== undefined ? [out.ca] : (await import('node:tls')).rootCertificates;
    out.ca = [...roots, ...extra].join('\n') + '\n';
  }
  if (certFile !== undefined && keyFile !== undefined) {
    const what = (d: string): string => `unable to configure TLS: Could not load X509 key pair: ${d}`;
    const cert = await readTlsFile(certFile, what, url);
    const key = await readTlsFile(keyFile, what, url);
    const tls = await import('node:tls');
    try {
      // Checks both PEMs and that they belong together; never prompts for a passphrase.
      tls.createSecureContext({ cert, key, passphrase: '' });
    } catch (err) {
      throw new RemoteError('CONFIG', what(`tls: the certificate and private key do not form a usable pair (${(err as Error).message})`), { url }, err);
    }
    out.cert = cert;
    out.key = key;
  }
  return out;
}

