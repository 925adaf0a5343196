// docker's certificate directories (docker/docker registry.ReadCertsDirectory): in `<dir>`,
// every `*.crt` is a CA trusted beside the default roots, and `<name>.cert` with `<name>.key` is
// a client certificate. docker reads `$DOCKER_CONFIG/tls/<host:port>` for the trust server
// (cli/trust) and `/etc/docker/certs.d/<host:port>` for a registry; a missing directory is no
// configuration. Node drops NODE_EXTRA_CA_CERTS once a CA list is given explicitly: that file
// (`nodeExtraCaCerts`, from the environment) joins the directory's CAs.

import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteError } from './errors.js';
import type { TlsFiles } from './tls.js';

/** docker's certs.d, where the registry certificates of a machine live. */
export const DOCKER_CERTS_D = '/etc/docker/certs.d';

export async function certsDirectory(dir: string, url: string, nodeExtraCaCerts?: string): Promise<TlsFiles> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return {};
    throw new RemoteError('CONFIG', `unable to configure TLS: cannot read the certificate directory ${dir}: ${code ?? 'error'}`, { url, hint: `fix the permissions of ${dir}` }, err);
  }
  const files: TlsFiles = {};
  const has = new Set(names);
  const bad = (message: string): RemoteError => new RemoteError('CONFIG', `unable to configure TLS: ${message}`, { url, hint: `fix the files in ${dir}` });
  for (const name of names) {
    if (name.endsWith('.crt')) (files.extraCaFiles ??= []).push(join(dir, name));
    else if (name.endsWith('.cert')) {
      const key = `${name.slice(0, -'.cert'.length)}.key`;
      if (!has.has(key)) throw bad(`missing key ${key} for client certificate ${name}. CA certificates must use the extension .crt`);
      // Node takes one client certificate: the first pair by name.
      if (files.certFile === undefined) {
        files.certFile = join(dir, name);
        files.keyFile = join(dir, key);
      }
    } else if (name.endsWith('.key')) {
      const cert = `${name.slice(0, -'.key'.length)}.cert`;
      if (!has.has(cert)) throw bad(`missing client certificate ${cert} for key ${name}`);
    }
  }
  if (files.extraCaFiles !== undefined && nodeExtraCaCerts) {
    // As Node at start-up: an unreadable file is not an error.
    const readable = await access(nodeExtraCaCerts, constants.R_OK).then(() => true, () => false);
    if (readable) files.extraCaFiles.push(nodeExtraCaCerts);
  }
  return files;
}
