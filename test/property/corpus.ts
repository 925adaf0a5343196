// Real files made by notary (the client, notary-server, or notary's own fixtures), which the
// property tests mutate. Sources:
//  - fixtures/notary07-trustdir: a notary 0.7 trust directory (formats.md §10);
//  - fixtures/notary-made: made by test/property/make-corpus.ts with the real notary 0.7 client
//    and notary-server (fixtures/notary-made/README.md);
//  - notary's source tree: the 0.1 and 0.3 compatibility trust directories and its TLS keys and
//    certificates.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FIXTURES, NOTARY_SOURCE } from '../helpers.js';

export interface MetadataFile {
  /** Where it comes from, for counterexamples: `notary-made/targets/qa.json`. */
  id: string;
  repo: string;
  gun: string;
  role: string;
  bytes: Buffer;
}

interface Repo {
  name: string;
  gun: string;
  dir: string;
}

const REPOS: Repo[] = [
  { name: 'notary07', gun: 'example.com/test1', dir: join(FIXTURES, 'notary07-trustdir/tuf/example.com/test1/metadata') },
  { name: 'notary-made', gun: 'example.com/fuzz', dir: join(FIXTURES, 'notary-made/metadata') },
  {
    name: 'notary0.1',
    gun: 'docker.com/notary0.1/samplerepo',
    dir: join(NOTARY_SOURCE, 'fixtures/compatibility/notary0.1/tuf/docker.com/notary0.1/samplerepo/metadata'),
  },
  {
    name: 'notary0.3',
    gun: 'docker.com/notary0.3/tst',
    dir: join(NOTARY_SOURCE, 'fixtures/compatibility/notary0.3/tuf/docker.com/notary0.3/tst/metadata'),
  },
];

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

let metadataCache: MetadataFile[] | undefined;

/** Every metadata file of the real repositories, delegations included. */
export function notaryMetadata(): MetadataFile[] {
  metadataCache ??= REPOS.flatMap((r) =>
    filesUnder(r.dir, '.json').map((p) => {
      const role = relative(r.dir, p).slice(0, -'.json'.length);
      return { id: `${r.name}/${role}.json`, repo: r.name, gun: r.gun, role, bytes: readFileSync(p) };
    }),
  );
  return metadataCache;
}

export interface KeyFile {
  id: string;
  text: string;
  /** The passphrase of its encrypted blocks (null when it has none). */
  passphrase: string | null;
}

const NOTARY07_PASSPHRASES: Record<string, string> = { root: 'rootpass123', targets: 'targetspass', snapshot: 'snappass' };

/** Private key files notary wrote (encrypted PKCS#8, legacy RFC 1423) or read (unencrypted). */
export function notaryKeyFiles(): KeyFile[] {
  const out: KeyFile[] = [];
  const add = (id: string, path: string, passphrase: (text: string) => string | null): void => {
    const text = readFileSync(path, 'latin1');
    out.push({ id, text, passphrase: passphrase(text) });
  };
  const n07 = join(FIXTURES, 'notary07-trustdir');
  const roleOf = (text: string): string => /^role: (.*)$/m.exec(text)?.[1] ?? '';
  for (const p of filesUnder(join(n07, 'private'), '.key')) add(`notary07/${relative(n07, p)}`, p, (t) => NOTARY07_PASSPHRASES[roleOf(t)] ?? 'delegpass');
  add('notary07/deleg1-key.pem', join(n07, 'deleg1-key.pem'), () => 'delegpass');
  add('notary07/ec_pkcs8.pem', join(n07, 'ec_pkcs8.pem'), () => null);
  const made = join(FIXTURES, 'notary-made');
  const madePass = readFileSync(join(made, 'PASSPHRASE'), 'utf8').trim();
  for (const p of [...filesUnder(join(made, 'private'), '.key'), join(made, 'keys/gen-ecdsa-key.pem')]) add(`notary-made/${relative(made, p)}`, p, () => madePass);
  const compat = join(NOTARY_SOURCE, 'fixtures/compatibility/notary0.1/private');
  for (const p of filesUnder(compat, '.key')) add(`notary0.1/${relative(compat, p)}`, p, () => 'randompass');
  for (const p of filesUnder(join(NOTARY_SOURCE, 'fixtures'), '.key').filter((p) => !p.includes('compatibility'))) {
    add(`notary-source/${relative(NOTARY_SOURCE, p)}`, p, () => null);
  }
  return out;
}

/** PEM text of certificates: notary's TLS fixtures and the delegation certificates. */
export function certificatePems(): { id: string; text: string }[] {
  const out = filesUnder(join(NOTARY_SOURCE, 'fixtures'), '.crt').map((p) => ({ id: `notary-source/${relative(NOTARY_SOURCE, p)}`, text: readFileSync(p, 'latin1') }));
  out.push({ id: 'notary07/deleg_cert.pem', text: readFileSync(join(FIXTURES, 'notary07-trustdir/deleg_cert.pem'), 'latin1') });
  out.push({ id: 'notary07/deleg1.pem', text: readFileSync(join(FIXTURES, 'notary07-trustdir/deleg1.pem'), 'latin1') });
  out.push({ id: 'notary-made/keys/gen-ecdsa.pem', text: readFileSync(join(FIXTURES, 'notary-made/keys/gen-ecdsa.pem'), 'latin1') });
  return out;
}

/** The change files the real notary client staged (fixtures/notary-made/changelist) and notary's 0.1 fixture. */
export function notaryChangeFiles(): { id: string; bytes: Buffer }[] {
  const dirs = [join(FIXTURES, 'notary-made/changelist'), join(NOTARY_SOURCE, 'fixtures/compatibility')];
  return dirs.flatMap((d) => filesUnder(d, '.change').map((p) => ({ id: relative(FIXTURES, p).startsWith('..') ? `notary-source/${relative(NOTARY_SOURCE, p)}` : relative(FIXTURES, p), bytes: readFileSync(p) })));
}
