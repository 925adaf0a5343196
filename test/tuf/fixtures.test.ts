// Every metadata file notary wrote verifies and re-serialises to identical bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvelope, envelopeBytes, type Envelope } from '../../src/tuf/envelope.js';
import { parseSigned, toJson, typeForRole, type Root, type Targets } from '../../src/tuf/metadata.js';
import { verifyThreshold } from '../../src/tuf/verify.js';
import { validRootKeys } from '../../src/tuf/rootcerts.js';
import { FIXTURES, NOTARY_SOURCE } from '../helpers.js';

interface Repo {
  name: string;
  gun: string;
  dir: string;
  delegations: string[];
}

const repos: Repo[] = [
  {
    name: 'notary 0.7 trust dir',
    gun: 'example.com/test1',
    dir: join(FIXTURES, 'notary07-trustdir/tuf/example.com/test1/metadata'),
    delegations: ['targets/releases'],
  },
  {
    name: 'notary 0.1 compatibility fixture',
    gun: 'docker.com/notary0.1/samplerepo',
    dir: join(NOTARY_SOURCE, 'fixtures/compatibility/notary0.1/tuf/docker.com/notary0.1/samplerepo/metadata'),
    delegations: [],
  },
  {
    name: 'notary 0.3 compatibility fixture',
    gun: 'docker.com/notary0.3/tst',
    dir: join(NOTARY_SOURCE, 'fixtures/compatibility/notary0.3/tuf/docker.com/notary0.3/tst/metadata'),
    delegations: ['targets/releases'],
  },
];

function load(repo: Repo, role: string): { bytes: Buffer; env: Envelope } {
  const bytes = readFileSync(join(repo.dir, `${role}.json`));
  return { bytes, env: parseEnvelope(bytes, role) };
}

for (const repo of repos) {
  test(`${repo.name}: signatures verify`, () => {
    const { env: rootEnv } = load(repo, 'root');
    const root = parseSigned('Root', rootEnv.signed, 'root') as Root;
    // Certificates of old fixtures may have expired; signatures are what is checked here.
    const rootKeys = validRootKeys(root, { gun: repo.gun, nowMs: 0, checkExpiry: false });
    assert.ok(rootKeys.size > 0, 'root has a valid certificate for the GUN');
    verifyThreshold(rootEnv, 'root', rootKeys, { keyids: [...rootKeys.keys()], threshold: root.roles.get('root')!.threshold });
    for (const role of ['targets', 'snapshot', 'timestamp']) {
      const { env } = load(repo, role);
      const r = verifyThreshold(env, role, root.keys, root.roles.get(role)!);
      assert.ok(r.validKeyIds.length >= 1, role);
    }
    const targets = parseSigned('Targets', load(repo, 'targets').env.signed, 'targets') as Targets;
    for (const d of repo.delegations) {
      const decl = targets.delegations.roles.find((r) => r.name === d)!;
      verifyThreshold(load(repo, d).env, d, targets.delegations.keys, decl);
    }
  });

  for (const role of ['root', 'targets', 'snapshot', 'timestamp', ...repo.delegations]) {
    test(`${repo.name}: ${role}.json round-trips byte for byte`, () => {
      const { bytes, env } = load(repo, role);
      const meta = parseSigned(typeForRole(role), env.signed, role);
      const again = envelopeBytes(toJson(meta), env.signatures);
      assert.equal(again.toString('utf8'), bytes.toString('utf8'));
    });
  }
}

test('notary 0.7 fixture: the HTML-escaped target name is signed raw', () => {
  const bytes = readFileSync(join(repos[0]!.dir, 'targets.json'));
  assert.ok(bytes.includes('\\u003chtml\\u003e\\u0026amp;'));
  const env = parseEnvelope(bytes, 'targets');
  assert.ok(env.canonical.includes('"<html>&amp;"'));
  const t = parseSigned('Targets', env.signed, 'targets') as Targets;
  assert.ok(t.targets.has('<html>&amp;'));
});
