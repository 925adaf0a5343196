// Which PKCS#11 module (driver library) to use, if any. Cheap: no native code is loaded here, so
// that every command can ask "is there a token?" without paying for pkcs11js (principle 7).
//
// Order: the `--pkcs11-module` flag, then DTRUST_PKCS11_MODULE, then the config file's
// `pkcs11.module` (or `pkcs11_module`), then notary's fixed search paths for the YubiKey library
// (trustmanager/yubikey/pkcs11_linux.go, pkcs11_darwin.go): the first of those files that exists.
// `none` (or `off`) in the flag, the variable or the config turns tokens off altogether.

import { statSync } from 'node:fs';

/** notary 0.7's search list on Linux (yubikey/pkcs11_linux.go), in its order. */
export const NOTARY_PKCS11_LIBS_LINUX: readonly string[] = [
  '/usr/lib/libykcs11.so',
  '/usr/lib/libykcs11.so.1',
  '/usr/lib64/libykcs11.so',
  '/usr/lib64/libykcs11.so.1',
  '/usr/lib/x86_64-linux-gnu/libykcs11.so',
  '/usr/local/lib/libykcs11.so',
];

/** notary 0.7's search list on macOS (yubikey/pkcs11_darwin.go). */
export const NOTARY_PKCS11_LIBS_DARWIN: readonly string[] = [
  '/usr/local/lib/libykcs11.dylib',
  '/usr/local/docker/lib/libykcs11.dylib',
  '/usr/local/docker-experimental/lib/libykcs11.dylib',
];

export const PKCS11_MODULE_VARIABLE = 'DTRUST_PKCS11_MODULE';
export const PKCS11_TOKEN_VARIABLE = 'DTRUST_PKCS11_TOKEN';
export const PKCS11_PIN_VARIABLE = 'DTRUST_PKCS11_PIN';
export const PKCS11_SO_PIN_VARIABLE = 'DTRUST_PKCS11_SO_PIN';
export const PKCS11_TOUCH_VARIABLE = 'DTRUST_PKCS11_TOUCH';

export type Pkcs11ModuleSource = 'flag' | 'env' | 'config' | 'search';

export interface Pkcs11ModuleChoice {
  path: string;
  from: Pkcs11ModuleSource;
}

export interface ResolveModuleOptions {
  /** The --pkcs11-module value (already made absolute by the caller when it is a path). */
  flag?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** The config file's value, absolute. */
  config?: string | undefined;
  platform?: NodeJS.Platform;
  /** Whether a file exists (tests replace it). */
  exists?: (path: string) => boolean;
}

function isOff(v: string): boolean {
  const l = v.trim().toLowerCase();
  return l === 'none' || l === 'off';
}

function fileExists(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The search list for this platform (empty where notary has none, e.g. Windows). */
export function notarySearchPaths(platform: NodeJS.Platform = process.platform): readonly string[] {
  if (platform === 'linux') return NOTARY_PKCS11_LIBS_LINUX;
  if (platform === 'darwin') return NOTARY_PKCS11_LIBS_DARWIN;
  return [];
}

/** The module to load, or undefined when none is configured or found (or tokens are off). */
export function resolvePkcs11Module(opts: ResolveModuleOptions): Pkcs11ModuleChoice | undefined {
  const explicit: [string | undefined, Pkcs11ModuleSource][] = [
    [opts.flag, 'flag'],
    [opts.env[PKCS11_MODULE_VARIABLE], 'env'],
    [opts.config, 'config'],
  ];
  for (const [v, from] of explicit) {
    if (v === undefined || v === '') continue;
    if (isOff(v)) return undefined;
    return { path: v, from };
  }
  const exists = opts.exists ?? fileExists;
  for (const p of notarySearchPaths(opts.platform)) if (exists(p)) return { path: p, from: 'search' };
  return undefined;
}

/** How messages name where the module came from. */
export function describeModuleSource(c: Pkcs11ModuleChoice): string {
  switch (c.from) {
    case 'flag':
      return '--pkcs11-module';
    case 'env':
      return PKCS11_MODULE_VARIABLE;
    case 'config':
      return 'the config file (pkcs11.module)';
    case 'search':
      return "notary's YubiKey library search path";
  }
}
