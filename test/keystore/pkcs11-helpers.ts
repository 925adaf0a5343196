// SoftHSM2 tokens for the PKCS#11 tests: one token per test, in its own SOFTHSM2_CONF and token
// directory; the PIN-counting / YubiKey-emulating shim module (fixtures/pkcs11-shim.c), built
// once per process; the mount namespace in which the real notary finds a token library on its
// fixed YubiKey search path. Nothing here skips: a missing tool is a failure that says what to
// install (scripts/setup.sh installs all of it).
import { createRequire } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers.js';
import { runProcess, type RunResult } from '../rig/notary.js';
import { makeTempDir, tempDir } from '../rig/tmp.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const SHIM_SOURCE = join(REPO_ROOT, 'test', 'keystore', 'fixtures', 'pkcs11-shim.c');
/** The PIN and SO PIN of test tokens (a YubiKey's default user PIN: notary tries it first). */
export const TEST_PIN = '123456';
export const TEST_SO_PIN = '12345678';

export interface SoftToken {
  dir: string;
  conf: string;
  label: string;
  pin: string;
}

/** Fails (never skips) unless SoftHSM2 and pkcs11js are there. */
export function requirePkcs11Tools(): void {
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`${SOFTHSM_MODULE} is missing: install the Debian package softhsm2 (scripts/setup.sh does)`);
  try {
    createRequire(join(REPO_ROOT, 'package.json'))('pkcs11js');
  } catch (e) {
    throw new Error(`pkcs11js cannot be loaded (${(e as Error).message.split('\n')[0]}): run npm ci with python3, make and g++ installed (scripts/setup.sh)`);
  }
}

/** A SoftHSM2 configuration with an empty token directory (no token yet). */
export async function softhsmConf(prefix = 'p11-'): Promise<{ dir: string; conf: string }> {
  const dir = await tempDir(prefix);
  const conf = join(dir, 'softhsm2.conf');
  const tokens = join(dir, 'tokens');
  await runProcess('mkdir', ['-p', tokens]);
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  return { dir, conf };
}

/** Initialises a token labelled `label` under `conf` with softhsm2-util. */
export async function initToken(conf: string, label: string, pin = TEST_PIN): Promise<void> {
  const r = await runProcess('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', TEST_SO_PIN], {
    env: { PATH: process.env['PATH'], SOFTHSM2_CONF: conf },
  });
  if (r.code !== 0) throw new Error(`softhsm2-util --init-token failed (install softhsm2):\n${r.stdout}${r.stderr}`);
}

/** A fresh SoftHSM2 token for one test. */
export async function softToken(label = 'dtrust-test', pin = TEST_PIN): Promise<SoftToken> {
  requirePkcs11Tools();
  const { dir, conf } = await softhsmConf();
  await initToken(conf, label, pin);
  return { dir, conf, label, pin };
}

/** The environment that points dtrust at `t` (module, token configuration, PIN). */
export function tokenEnv(t: SoftToken, module = SOFTHSM_MODULE): Record<string, string> {
  return { SOFTHSM2_CONF: t.conf, DTRUST_PKCS11_MODULE: module, DTRUST_PKCS11_PIN: t.pin };
}

let shim: Promise<string> | undefined;

/** Builds fixtures/pkcs11-shim.c (PIN retry counter, YubiKey emulation) once per process. */
export function shimModule(): Promise<string> {
  shim ??= (async () => {
    const dir = await makeTempDir('p11-shim-');
    const out = join(dir, 'libshim.so');
    const r = await runProcess('cc', ['-shared', '-fPIC', '-O1', '-I', join(REPO_ROOT, 'node_modules', 'pkcs11js', 'includes', 'pkcs11'), '-o', out, SHIM_SOURCE, '-ldl']);
    if (r.code !== 0) throw new Error(`cannot build the test PKCS#11 shim (needs a C compiler):\n${r.stderr}`);
    return out;
  })();
  return shim;
}

/**
 * Runs the REAL notary with `library` visible at /usr/local/lib/libykcs11.so, the last path of
 * notary's fixed YubiKey search list (trustmanager/yubikey/pkcs11_linux.go), in a private mount
 * namespace: nothing outside the child sees it. Needs root or unprivileged user namespaces.
 */
export async function notaryWithToken(library: string, args: readonly string[], env: Record<string, string | undefined>, input?: string): Promise<RunResult> {
  const dir = await tempDir('p11-ykpath-');
  await runProcess('ln', ['-s', library, join(dir, 'libykcs11.so')]);
  const script = 'mount --bind "$0" /usr/local/lib && exec notary "$@"';
  const asRoot = process.getuid?.() === 0;
  const r = await runProcess('unshare', [...(asRoot ? ['-m'] : ['-r', '-m']), 'sh', '-c', script, dir, ...args], { env, input, timeoutMs: 120_000 });
  if (/unshare: |mount: /.test(r.stderr) && r.code !== 0) {
    throw new Error(`cannot give notary a private mount namespace (needs root or user namespaces):\n${r.stderr}`);
  }
  return r;
}
