// Loading a PKCS#11 module (the driver library) through pkcs11js, once per process per library:
// C_Initialize on first use, C_Finalize when the process exits. pkcs11js is an optional
// dependency, loaded here only, when a module is configured or found.

import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KeyStoreError } from './errors.js';
import { CKR, ckrCode, ckrName, type Pkcs11Api } from './pkcs11-api.js';

const loaded = new Map<string, Pkcs11Api>();

/** Clean-ups run when the process exits (one listener for every store and module). */
const atExit = new Set<() => void>();
let exitHooked = false;
/** Runs `f` when the process exits (the last registered first). */
export function onExit(f: () => void): void {
  atExit.add(f);
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const g of [...atExit].reverse()) g();
    atExit.clear();
  });
}

/** Test hook: replaces `import('pkcs11js')`. */
export type Pkcs11Factory = () => Promise<Pkcs11Api>;

async function defaultFactory(): Promise<Pkcs11Api> {
  let mod: { PKCS11?: new () => Pkcs11Api; default?: { PKCS11?: new () => Pkcs11Api } };
  try {
    // pkcs11js is CommonJS (a native addon); a created require keeps bundlers from resolving the
    // optional package at build time.
    mod = createRequire(import.meta.url)('pkcs11js') as typeof mod;
  } catch (e) {
    throw new KeyStoreError('TOKEN_UNAVAILABLE', `PKCS#11 support is not installed: the optional package pkcs11js could not be loaded (${firstLine(e)})`, {
      hint: 'reinstall dtrust where npm can build native addons (python3, make and a C++ compiler), or run with --pkcs11-module none to use file keys only',
    }, e);
  }
  const Ctor = mod.PKCS11 ?? mod.default?.PKCS11;
  if (typeof Ctor !== 'function') {
    throw new KeyStoreError('TOKEN_UNAVAILABLE', 'PKCS#11 support is broken: the pkcs11js package has no PKCS11 class', {
      hint: 'reinstall dtrust, or run with --pkcs11-module none',
    });
  }
  return new Ctor();
}

function firstLine(e: unknown): string {
  return String((e as { message?: unknown })?.message ?? e).split('\n')[0]!;
}

/** Loads and initialises `path` (C_Initialize once; C_Finalize when the process exits). */
export async function loadPkcs11Module(path: string, factory: Pkcs11Factory = defaultFactory): Promise<Pkcs11Api> {
  const have = loaded.get(path);
  if (have) return have;
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    // reported below
  }
  if (!isFile) {
    throw new KeyStoreError('TOKEN_UNAVAILABLE', `the PKCS#11 module ${path} does not exist`, {
      path,
      hint: 'install the driver (YubiKey: the libykcs11 library of yubico-piv-tool; SoftHSM2: /usr/lib/softhsm/libsofthsm2.so) or fix --pkcs11-module / DTRUST_PKCS11_MODULE / pkcs11.module',
    });
  }
  const api = await factory();
  try {
    api.load(path);
  } catch (e) {
    throw new KeyStoreError('TOKEN_UNAVAILABLE', `cannot load the PKCS#11 module ${path}: ${firstLine(e)}`, {
      path,
      hint: 'the file is not a PKCS#11 library for this machine; check --pkcs11-module / DTRUST_PKCS11_MODULE / pkcs11.module',
    }, e);
  }
  try {
    api.C_Initialize();
  } catch (e) {
    if (ckrCode(e) !== CKR.CRYPTOKI_ALREADY_INITIALIZED) {
      throw new KeyStoreError('TOKEN_UNAVAILABLE', `the PKCS#11 module ${path} failed to start: ${ckrName(e)}`, {
        path,
        hint: 'check the driver\'s own configuration (SoftHSM2: the file SOFTHSM2_CONF names and its token directory)',
      }, e);
    }
  }
  loaded.set(path, api);
  onExit(() => unloadPkcs11Module(path));
  return api;
}

/**
 * C_Finalize for `path` (done when the process exits). A later open initialises the module
 * again, reading its configuration anew (SoftHSM2: SOFTHSM2_CONF); the tests rely on that.
 */
export function unloadPkcs11Module(path: string): void {
  const api = loaded.get(path);
  if (!api) return;
  loaded.delete(path);
  try {
    api.C_Finalize();
  } catch {
    // finalised anyway
  }
}
