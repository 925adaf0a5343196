// `expiry`, the expiry warnings of reads and `renew`, against the real notary-server and the real
// notary client (docs/commands/expiry.md, renew.md):
//  - the dates `expiry` shows are those of the metadata files (the real notary's cache), online
//    and offline; --json field by field; exit 0 / 3 / 4;
//  - reads warn once per role and certificate within the window (DTRUST_EXPIRY_WARNING, the
//    config key, 0 = off); `delegation add` warns about a certificate near its end;
//  - with the clock moved forward (faketime around the CLI), readers fail on an expired targets
//    role and delegation with a hint, the owner runs `renew -p`, and dtrust and the real notary
//    read again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRootCertificate } from '../../src/crypto/certgen.js';
import { spkiDer } from '../../src/crypto/signature.js';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { DTRUST_BIN, NotaryClient, baseEnv, describeFailure, runProcess, type RunResult } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';
import { FAST_KDF, fails, file, hintOf, ok, party, type Party } from './delegation-helpers.js';

const server = useNotaryServer();
const DAY = 86_400_000;

/** A delegation key whose certificate ends `days` from now, as files; its canonical ID. */
async function shortCert(dir: string, name: string, days: number): Promise<{ key: string; cert: string; id: string; notAfter: number }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const notAfter = Math.floor((Date.now() + days * DAY) / 1000) * 1000;
  const der = await createRootCertificate({ privateKey, publicKey, commonName: name, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(notAfter) });
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  await writeFile(key, privateKey.export({ type: 'sec1', format: 'pem' }) as string, { mode: 0o600 });
  await writeFile(cert, goPemCertificates([der]));
  return { key, cert, id: new PublicKey('ecdsa', spkiDer(publicKey)).id, notAfter };
}

/** An owner with a repository: a target in targets, a delegation whose key (certificate ending in 20 days) is held here, a target in it. */
async function repository(gun: string): Promise<{ o: Party; rel: { key: string; cert: string; id: string; notAfter: number }; add: RunResult }> {
  const o = await party(server().url, 'owner');
  await ok(o.dt, ['init', gun, '-p']);
  await ok(o.dt, ['add', gun, 'app', await file(o.home, 'app.txt', 'app\n'), '-p']);
  const rel = await shortCert(o.home, 'releases', 20);
  const add = await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', rel.cert, '--all-paths', '-p']);
  await ok(o.dt, ['key', 'import', rel.key, '-r', 'targets/releases']);
  await ok(o.dt, ['add', gun, 'v1', await file(o.home, 'v1.txt', 'v1\n'), '-r', 'targets/releases', '-p']);
  return { o, rel, add };
}

/** The real notary's cached copy of each role, after a fresh notary client read the repository. */
async function notaryFiles(gun: string, roles = ['root', 'targets', 'snapshot', 'timestamp', 'targets/releases']): Promise<Map<string, { version: number; expires: string }>> {
  const nt = await NotaryClient.create({ serverUrl: server().url, home: await tempDir('expiry-notary-') });
  const r = await nt.run(['list', gun]);
  assert.equal(r.code, 0, describeFailure('notary', ['list', gun], r));
  const out = new Map<string, { version: number; expires: string }>();
  for (const role of roles) {
    const signed = (JSON.parse(readFileSync(join(nt.trustDir, 'tuf', gun, 'metadata', `${role}.json`), 'utf8')) as { signed: { version: number; expires: string } }).signed;
    out.set(role, { version: signed.version, expires: signed.expires });
  }
  return out;
}

interface JsonKey {
  id: string;
  held: string | null;
  certExpires: string | null;
  certStatus: string | null;
}
interface JsonRole {
  role: string;
  version: number;
  expires: string;
  secondsLeft: number;
  status: string;
  renewedBy: string;
  alarming: boolean;
  keys: JsonKey[];
}
interface JsonReport {
  gun: string;
  source: string;
  now: string;
  withinSeconds: number;
  status: string;
  roles: JsonRole[];
}

function report(r: RunResult): JsonReport[] {
  return JSON.parse(r.stdout) as JsonReport[];
}

const utc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

test('expiry shows the dates of the metadata files, who renews each role and the keys held here; --json field by field; exit 0, 3 and 4', async () => {
  const gun = 'example.com/expiry/report';
  const { o, rel, add } = await repository(gun);
  // delegation add warned about the certificate ending in 20 days, with notary's words.
  assert.match(add.stderr, new RegExp(`certificate with CN releases is near expiry: .*releases-cert\\.pem ends at ${utc(rel.notAfter)}; make a new certificate`));
  const files = await notaryFiles(gun);
  const keyList = (await ok(o.dt, ['key', 'list'])).stdout;

  const before = Date.now();
  const r = await o.dt.run(['expiry', gun, '--json']);
  const after = Date.now();
  assert.equal(r.code, 3, describeFailure('dtrust', ['expiry'], r)); // the delegation's certificate ends within 30 days
  assert.match(r.stderr, /something expires within 30d: renew it with dtrust renew GUN \(exit 3\)/);
  const [rep, ...more] = report(r);
  assert.equal(more.length, 0);
  assert.equal(rep!.gun, gun);
  assert.equal(rep!.source, 'server');
  const now = Date.parse(rep!.now);
  assert.ok(now >= before - 1000 && now <= after, rep!.now);
  assert.equal(rep!.withinSeconds, 30 * 86_400);
  assert.equal(rep!.status, 'within');
  assert.deepEqual(rep!.roles.map((x) => x.role), ['root', 'targets', 'snapshot', 'timestamp', 'targets/releases']);
  for (const row of rep!.roles) {
    const f = files.get(row.role)!;
    assert.equal(row.expires, f.expires, `${row.role}: the date of the file`);
    assert.equal(row.version, f.version, `${row.role}: the version of the file`);
    const left = (Date.parse(f.expires) - now) / 1000;
    assert.ok(Math.abs(row.secondsLeft - left) <= 1, `${row.role}: secondsLeft ${row.secondsLeft} vs ${left}`);
    assert.equal(row.renewedBy, row.role === 'timestamp' ? 'server' : 'owner', row.role); // the owner holds the snapshot key
    // The timestamp ends in 14 days, within the window, but the server renews it: not alarming.
    assert.equal(row.status, row.role === 'timestamp' ? 'within' : 'ok', row.role);
    assert.equal(row.alarming, false, row.role);
    assert.ok(row.keys.length >= 1, row.role);
    for (const k of row.keys) {
      assert.match(k.id, /^[0-9a-f]{64}$/);
      const heldHere = keyList.includes(k.id);
      assert.equal(k.held, heldHere ? 'file' : null, `${row.role} key ${k.id}`);
    }
  }
  const byRole = new Map(rep!.roles.map((x) => [x.role, x]));
  assert.equal(byRole.get('timestamp')!.keys[0]!.held, null);
  assert.equal(byRole.get('targets')!.keys[0]!.held, 'file');
  // The root key's certificate (10 years) and the delegation's (20 days).
  const rootKey = byRole.get('root')!.keys[0]!;
  assert.equal(rootKey.certStatus, 'ok');
  assert.ok(Math.abs(Date.parse(rootKey.certExpires!) - Date.parse(files.get('root')!.expires)) < 2 * DAY, rootKey.certExpires!);
  const relKey = byRole.get('targets/releases')!.keys[0]!;
  assert.deepEqual(relKey, { id: rel.id, held: 'file', certExpires: utc(rel.notAfter), certStatus: 'within' });
  assert.equal(byRole.get('targets')!.keys[0]!.certExpires, null);
  assert.equal(byRole.get('targets')!.keys[0]!.certStatus, null);

  // A window shorter than the certificate's 20 days: nothing alarming, exit 0.
  const quiet = await ok(o.dt, ['expiry', gun, '--within', '10d', '--json']);
  assert.equal(report(quiet)[0]!.status, 'ok');
  assert.equal(report(quiet)[0]!.withinSeconds, 10 * 86_400);

  // The table: one row per role, the date in UTC, who renews, the keys held here.
  const t = await o.dt.run(['expiry', gun]);
  assert.equal(t.code, 3);
  assert.match(t.stdout, new RegExp(`^\\n${gun.replace(/\./g, '\\.')} \\(from the server; window 30d\\):\\n\\nROLE +VERSION +EXPIRES \\(UTC\\) +LEFT +STATUS +RENEWED BY +KEYS`));
  assert.match(t.stdout, new RegExp(`\\ntimestamp +\\d+ +${files.get('timestamp')!.expires.replace(/\.\d+Z$/, 'Z')} +13d 23h +\\(soon\\) +server +[0-9a-f]{12}\\n`));
  assert.match(t.stdout, new RegExp(`\\ntargets/releases +1 +\\S+ +\\d+d \\d+h +key holder +${rel.id.slice(0, 12)} \\(file\\) cert ${utc(rel.notAfter).slice(0, 10)} SOON\\n`));

  // Offline, from the verified cache: the same dates, and it says so.
  const off = await o.dt.run(['expiry', gun, '--json', '--offline']);
  assert.equal(off.code, 3, describeFailure('dtrust', ['expiry', '--offline'], off));
  assert.equal(report(off)[0]!.source, 'cache');
  assert.deepEqual(report(off)[0]!.roles.map((x) => x.expires), rep!.roles.map((x) => x.expires));
  assert.equal(off.stderr.includes('Error while downloading'), false, off.stderr);
  const down = await o.dt.run(['-s', 'http://127.0.0.1:9', 'expiry', gun], { noGlobalFlags: false });
  assert.equal(down.code, 3, describeFailure('dtrust', ['expiry', '(server down)'], down));
  assert.match(down.stdout, /\(from the verified cache: the server could not be reached; window 30d\)/);

  // Already expired (the clock two years on): exit 4; a GUN nobody has: an error, exit 1.
  const late = await faketimeDtrust(o, '+1200d', ['expiry', gun, '--json']);
  assert.equal(late.code, 4, describeFailure('faketime dtrust', ['expiry'], late));
  assert.equal(report(late)[0]!.status, 'expired');
  assert.equal(report(late)[0]!.roles.find((x) => x.role === 'targets')!.status, 'expired');
  await fails(o.dt, ['expiry', 'example.com/expiry/nothing-here']);
  const bad = await o.dt.run(['expiry', gun, '--within', '30']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid duration "30" for --within: "30" has no unit/);
});

test('reads warn once per role and certificate within the window; DTRUST_EXPIRY_WARNING, expiry_warning and 0 set it', async () => {
  const gun = 'example.com/expiry/warnings';
  const { o, rel } = await repository(gun);
  const warned = (r: RunResult): string[] => r.stderr.split('\n').filter((l) => /expires at|certificate of/.test(l));

  // Default window (30 days): only the delegation's certificate, once, with the fix.
  const l = await ok(o.dt, ['list', gun]);
  assert.deepEqual(warned(l).length, 1, l.stderr);
  assert.match(warned(l)[0]!, new RegExp(`the certificate of targets/releases key ${rel.id.slice(0, 12)} of ${gun.replace(/\./g, '\\.')} expires at ${utc(rel.notAfter)}; give targets/releases a key with a new certificate: dtrust delegation add`));

  // A window of 11 years: root, targets, snapshot, the delegation and two certificates, each once; never the timestamp the server renews.
  const env = { DTRUST_EXPIRY_WARNING: '4000d' };
  for (const args of [['list', gun], ['lookup', gun, 'v1'], ['delegation', 'list', gun]]) {
    const r = await ok(o.dt, args, { env });
    const lines = warned(r);
    for (const role of ['root', 'targets', 'snapshot', 'targets/releases']) {
      assert.equal(lines.filter((x) => x.includes(`msg="${role} of ${gun} expires at`)).length, 1, `${args[0]}: ${role}\n${r.stderr}`);
    }
    assert.equal(lines.filter((x) => x.includes('timestamp')).length, 0, r.stderr);
    assert.equal(lines.filter((x) => x.includes('the certificate of')).length, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`msg="targets of ${gun.replace(/\./g, '\\.')} expires at \\S+ \\(in \\d+d \\d+h\\); renew it with: dtrust renew ${gun.replace(/\./g, '\\.')}"`));
  }
  // 0 turns them off; the config key sets the window too and, as every key, comes before the variable.
  assert.deepEqual(warned(await ok(o.dt, ['list', gun], { env: { DTRUST_EXPIRY_WARNING: '0' } })), []);
  const cfg = join(o.home, 'config.json');
  writeFileSync(cfg, JSON.stringify({ expiry_warning: '4000d' }));
  assert.equal(warned(await ok(o.dt, ['-c', cfg, 'list', gun])).length, 6);
  assert.equal(warned(await ok(o.dt, ['-c', cfg, 'list', gun], { env: { DTRUST_EXPIRY_WARNING: '0' } })).length, 6);
  writeFileSync(cfg, JSON.stringify({ expiry_warning: '0' }));
  assert.deepEqual(warned(await ok(o.dt, ['-c', cfg, 'list', gun], { env })), []);
  writeFileSync(cfg, JSON.stringify({ expiry_warning: 'soon' }));
  const bad = await fails(o.dt, ['-c', cfg, 'list', gun]);
  assert.match(bad.stderr, /invalid duration "soon" for expiry_warning: "soon" is not <number><unit> in /);
  assert.match(hintOf(bad), /fix expiry_warning in .*config\.json: e\.g\. "30d", or "0" to turn the warnings off/);
});

/** `dtrust -s URL -d TRUSTDIR ...args` of a party with the clock moved by `offset` (faketime -f). */
function faketimeDtrust(p: Party, offset: string, args: readonly string[]): Promise<RunResult> {
  return runProcess('faketime', ['-f', offset, process.execPath, DTRUST_BIN, '-s', server().url, '-d', p.trustDir, ...args], {
    env: { ...baseEnv(p.home), ...FAST_KDF },
    cwd: p.home,
  });
}

test('clock moved past the expiry: readers fail with a hint, the owner runs renew -p, dtrust and the real notary read again', async () => {
  const gun = 'example.com/expiry/renew';
  const { o } = await repository(gun);
  const reader = await party(server().url, 'reader');
  await ok(reader.dt, ['list', gun]); // trusts the repository now (its root is cached)
  const v0 = (await notaryFiles(gun)).get('targets')!.version;

  // The owner renews targets and the delegation now, for two days only.
  const short = await ok(o.dt, ['renew', gun, '--role', 'targets,targets/releases', '--expires', '2d', '-p']);
  assert.match(short.stdout, /^Renewing in example\.com\/expiry\/renew:\n {2}targets: expires \S+ \(in 1094d 23h\)\n {2}targets\/releases: expires /);
  assert.match(short.stdout, /Auto-publishing changes to example\.com\/expiry\/renew\nSuccessfully published changes for repository example\.com\/expiry\/renew\n$/);
  const files = await notaryFiles(gun); // the real notary reads the renewed repository
  assert.equal(files.get('targets')!.version, v0 + 1);
  assert.ok(Math.abs(Date.parse(files.get('targets')!.expires) - (Date.now() + 2 * DAY)) < 60_000, files.get('targets')!.expires);
  assert.ok(Math.abs(Date.parse(files.get('targets/releases')!.expires) - (Date.now() + 2 * DAY)) < 60_000);
  const mine = report(await ok(o.dt, ['expiry', gun, '--json', '--within', '1d']))[0]!;
  assert.equal(mine.roles.find((x) => x.role === 'targets')!.expires, files.get('targets')!.expires);

  // Three days on: targets has expired. Readers fail, with the hint; expiry says so (exit 4).
  const r1 = await faketimeDtrust(reader, '+3d', ['list', gun]);
  assert.equal(r1.code, 1, describeFailure('faketime dtrust', ['list'], r1));
  assert.match(r1.stderr, /\* fatal: targets metadata expired at /);
  assert.match(r1.stderr, new RegExp(`hint: check this machine's clock first \\(it reads \\S+\\); if it is right, the holder of the targets key renews it: dtrust renew ${gun.replace(/\./g, '\\.')} -p`));
  const ex = await faketimeDtrust(o, '+3d', ['expiry', gun, '--json']);
  assert.equal(ex.code, 4);
  assert.deepEqual(report(ex)[0]!.roles.filter((x) => x.status === 'expired').map((x) => x.role), ['targets', 'targets/releases']);
  // Someone without the keys cannot renew it (and nothing is published).
  const nope = await faketimeDtrust(reader, '+3d', ['renew', gun, '-p']);
  assert.equal(nope.code, 0, describeFailure('faketime dtrust', ['renew (reader)'], nope));
  assert.match(nope.stdout, /Nothing of example\.com\/expiry\/renew can be renewed here\nNot renewed here:\n {2}targets: expired \S+ \(\d+d? ?\S* ago\): no key of it is held here/);

  // The owner renews what has expired (no --role: everything within 30 days it holds keys for).
  const ren = await faketimeDtrust(o, '+3d', ['renew', gun, '-p']);
  assert.equal(ren.code, 0, describeFailure('faketime dtrust', ['renew', '-p'], ren));
  assert.match(ren.stdout, /^Renewing in example\.com\/expiry\/renew:\n {2}targets: expired .* ago\)\n {2}targets\/releases: expired .* ago\)\n/);
  assert.match(ren.stdout, /Certificates \(renewed by rotating the key\):\n {2}targets\/releases key [0-9a-f]{64}: certificate expires \S+ \(in 1[67]d \d+h\): make a new certificate/);

  // Readers work again, three days on and now; so does the real notary.
  const r2 = await faketimeDtrust(reader, '+3d', ['list', gun]);
  assert.equal(r2.code, 0, describeFailure('faketime dtrust', ['list'], r2));
  assert.match(r2.stdout, /\napp +/);
  assert.match(r2.stdout, /\nv1 +\S+ +\d+ +targets\/releases\n/);
  await ok(reader.dt, ['list', gun]);
  const after = await notaryFiles(gun);
  assert.equal(after.get('targets')!.version, v0 + 2);
  assert.ok(Date.parse(after.get('targets')!.expires) > Date.now() + 1000 * DAY); // notary's default term, from the moved clock
  const n = await freshNotaryList(gun);
  assert.match(n, /\nv1 +\S+ +\d+ +targets\/releases\n/);
});

async function freshNotaryList(gun: string): Promise<string> {
  const nt = await NotaryClient.create({ serverUrl: server().url, home: await tempDir('expiry-notary-') });
  const r = await nt.run(['list', gun]);
  assert.equal(r.code, 0, describeFailure('notary', ['list'], r));
  return r.stdout;
}

test('doctor reports the set-up with a fix per problem, and with a GUN its expiry and what this machine signs; -D names the trust directory, configuration, server, keys used and each HTTP request, never a secret', async () => {
  const url = server().url;
  const gun = 'example.com/expiry/doctor';
  const o = await party(url, 'doctor');
  await ok(o.dt, ['init', gun, '-p']);

  interface Doctor {
    program: string;
    mode: string;
    trustDir: { path: string; from: string; exists: boolean };
    configFile: string | null;
    server: { url: string; from: string; answers: boolean; tls: string; auth: string[]; error?: string };
    keys: { dir: string; count: number; byRole: Record<string, number> };
    pkcs11: Record<string, string>;
    codeCache: string;
    expiryWarningSeconds: number;
    problems: { problem: string; fix: string }[];
    repository?: JsonReport & { canSign: string[] };
  }
  const env = { DTRUST_PKCS11_MODULE: 'none' };
  const d = JSON.parse((await ok(o.dt, ['doctor', '--json'], { env })).stdout) as Doctor;
  assert.equal(d.program, 'dtrust');
  assert.equal(d.mode, 'docker');
  assert.deepEqual(d.trustDir, { path: o.trustDir, from: '-d/--trustDir', exists: true });
  assert.equal(d.configFile, null);
  assert.deepEqual(d.server, { url, from: 'flag', answers: true, tls: 'none', auth: [] });
  assert.equal(d.keys.dir, join(o.trustDir, 'private'));
  assert.equal(d.keys.count, 3);
  assert.deepEqual(d.keys.byRole, { root: 1, targets: 1, snapshot: 1 });
  assert.equal(d.expiryWarningSeconds, 30 * 86_400);
  assert.equal(typeof d.codeCache, 'string');
  assert.deepEqual(d.problems, []);
  assert.equal(d.repository, undefined);

  // With a GUN: its expiry rows and the roles this machine signs.
  const g = JSON.parse((await ok(o.dt, ['doctor', gun, '--json'], { env })).stdout) as Doctor;
  assert.equal(g.repository!.gun, gun);
  assert.deepEqual(g.repository!.roles.map((r) => r.role), ['root', 'targets', 'snapshot', 'timestamp']);
  assert.deepEqual(g.repository!.canSign, ['root', 'targets', 'snapshot']);
  const text = (await ok(o.dt, ['doctor', gun], { env })).stdout;
  assert.match(text, new RegExp(`^program: +dtrust \\(docker's defaults\\)\\ntrust directory: +${o.trustDir.replace(/[.]/g, '\\.')} \\(-d/--trustDir\\)\\nconfiguration file: +none\\nserver: +${url.replace(/[.]/g, '\\.')} \\(from -s\\): answers; TLS none; no authentication asked\\n`));
  assert.match(text, /\nThis machine can sign: root, targets, snapshot\n\nNo problems found\.\n$/);

  // Problems, each with its fix: a key file others can read, a server that does not answer.
  const { chmodSync, readdirSync } = await import('node:fs');
  const keyFile = join(o.trustDir, 'private', readdirSync(join(o.trustDir, 'private')).find((f) => f.endsWith('.key'))!);
  chmodSync(keyFile, 0o644);
  const bad = JSON.parse((await ok(o.dt, ['-s', 'http://127.0.0.1:9', 'doctor', '--json'], { env, noGlobalFlags: false })).stdout) as Doctor;
  assert.equal(bad.server.answers, false);
  assert.deepEqual(bad.problems.map((p) => p.fix), [
    'check the URL (-s, remote_server.url, DOCKER_CONTENT_TRUST_SERVER) and that the server runs',
    `chmod 600 ${keyFile}`,
  ]);
  assert.match(bad.problems[1]!.problem, /is readable by others \(mode 644\)/);
  chmodSync(keyFile, 0o600);

  // -D: the facts notary's debug log gives, each HTTP request with its status, the keys used; no passphrase.
  const dl = await ok(o.dt, ['-D', 'add', gun, 'x', await file(o.home, 'x.txt', 'x\n'), '-p']);
  const tid = (await ok(o.dt, ['key', 'list'])).stdout.split('\n').find((l) => /^targets /.test(l))!.split(/\s+/)[2]!;
  for (const want of [
    `trust directory: ${o.trustDir} (from -d)`,
    'configuration file: none',
    `server: ${url} (from -s)`,
    `HTTP GET ${url}/v2/: 200`,
    `HTTP GET ${url}/v2/${gun}/_trust/tuf/timestamp.json: 200`,
    `HTTP POST ${url}/v2/${gun}/_trust/tuf/: 200`,
    `signing targets with key ${tid}`,
  ]) {
    assert.ok(dl.stderr.includes(want), `-D lacks ${JSON.stringify(want)}:\n${dl.stderr}`);
  }
  assert.equal(dl.stderr.includes('rig-passphrase'), false, 'a passphrase in the debug log');
  const quiet = await ok(o.dt, ['list', gun]);
  assert.equal(quiet.stderr.includes('HTTP GET'), false);
});

test('renew re-signs the root and snapshot held here, rotates the root key when its certificate is within the window (after a confirmation), and leaves a server-held snapshot to the server', async () => {
  const gun = 'example.com/expiry/root';
  const base = ['root', 'targets', 'snapshot', 'timestamp'];
  const o = await party(server().url, 'rootowner');
  await ok(o.dt, ['init', gun, '-p']);
  const reader = await party(server().url, 'rootreader');
  await ok(reader.dt, ['list', gun]);
  const v0 = await notaryFiles(gun, base);
  const rootKey = (): Promise<string> => ok(o.dt, ['expiry', gun, '--json', '--within', '1d']).then((r) => report(r)[0]!.roles[0]!.keys[0]!.id);
  const key0 = await rootKey();

  // Named roles, a new lifetime: both re-signed, the root key unchanged.
  const r = await ok(o.dt, ['renew', gun, '--role', 'root,snapshot', '--expires', '400d', '-p']);
  assert.match(r.stdout, /^Renewing in example\.com\/expiry\/root:\n {2}root: expires \S+ \(in 3649d 23h\)\n {2}snapshot: expires /);
  const v1 = await notaryFiles(gun, base);
  assert.equal(v1.get('root')!.version, v0.get('root')!.version + 1);
  assert.equal(v1.get('snapshot')!.version, v0.get('snapshot')!.version + 1);
  for (const role of ['root', 'snapshot']) assert.ok(Math.abs(Date.parse(v1.get(role)!.expires) - (Date.now() + 400 * DAY)) < 60_000, role);
  assert.equal(await rootKey(), key0);

  // A window past the root certificate's end: without -y and no terminal, no rotation, and exit 1
  // naming the flag (the renewals before it are published).
  const asked = await fails(o.dt, ['renew', gun, '--within', '4000d', '-p']);
  assert.match(asked.stderr, /standard input is not a terminal and gave no answer: pass -y to rotate the root key without the question/);
  assert.match(asked.stdout, /Certificates \(renewed by rotating the key\):\n {2}root key [0-9a-f]{64}: certificate expires \S+ \(in 36\d\dd \d+h\): renew -p rotates the root key/);
  assert.match(asked.stdout, /Are you sure you want to proceed\?  \(yes\/no\)  \n$/);
  assert.equal(await rootKey(), key0);
  // With -y: the root key is rotated; the reader (who trusted the old root) and a fresh notary read it.
  const rot = await ok(o.dt, ['renew', gun, '--within', '4000d', '-p', '-y']);
  assert.match(rot.stdout, new RegExp(`Rotating the root key of example\\.com/expiry/root: ${key0} -> [0-9a-f]{64}; root version \\d+ is signed by .*\nSuccessfully rotated root key for repository example\\.com/expiry/root\n$`));
  const key1 = await rootKey();
  assert.notEqual(key1, key0);
  await ok(reader.dt, ['list', gun]);
  await notaryFiles(gun, base);

  // The server takes the snapshot key: it renews the snapshot, renew leaves it.
  await ok(o.dt, ['key', 'rotate', gun, 'snapshot', '-r']);
  const ex = report(await ok(o.dt, ['expiry', gun, '--json']))[0]!;
  const snap = ex.roles.find((x) => x.role === 'snapshot')!;
  assert.equal(snap.renewedBy, 'server');
  assert.deepEqual(snap.keys.map((k) => k.held), [null]);
  const left = await ok(o.dt, ['renew', gun, '--role', 'snapshot', '-p']);
  assert.match(left.stdout, /^Nothing of example\.com\/expiry\/root can be renewed here\nNot renewed here:\n {2}snapshot: expires \S+ \(in \S+ \S+\): the server holds its key and renews it\n$/);
  const ts = await o.dt.run(['renew', gun, '--role', 'timestamp']);
  assert.equal(ts.code, 1);
  assert.match(ts.stderr, /the timestamp is signed and renewed by the server, not by this machine/);
  const noexp = await o.dt.run(['renew', gun, '--expires', '10d']);
  assert.equal(noexp.code, 1);
  assert.match(noexp.stderr, /--expires applies when renew publishes: add -p/);
});
