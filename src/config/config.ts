// Flags + config file + environment -> one typed Config (cli.md §2-§4, §12 #11).
//
// Sources, highest first:
//   trust dir:  -d  >  trust_dir in the config file  >  default
//   server URL: -s  >  remote_server.url  >  $DOCKER_CONTENT_TRUST_SERVER (dtrust only)  >  https://notary-server:4443
//   TLS files:  --tlscacert/--tlscert/--tlskey  >  remote_server.root_ca/tls_client_cert/tls_client_key
//
// Path rules (what notary gets wrong is fixed, for both program names):
//   - `~` and `~/…` expand to $HOME in every path: flags (also a quoted `-d '~/x'`), config values;
//   - flag paths are made absolute against the working directory;
//   - relative paths in the config file (trust_dir, the three TLS files, trust_pinning.ca) are
//     resolved against the config file's directory (notary: trust_dir and trust_pinning.ca
//     against the working directory).
//
// This module never reads process.env or process.cwd(): the CLI passes them in.

// Files are read synchronously: a config file and a key count are a few system calls, and
// fs/promises alone costs a short command a millisecond to load.
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isJsonObject, parseJson, type Json, type JsonObject } from '../tuf/json.js';
import { ConfigError } from './errors.js';
import { errnoCode, goFileError } from '../fs/errno.js';
import { goJsonSyntaxError } from './gojson.js';

export interface GlobalFlags {
  configFile?: string;
  trustDir?: string;
  server?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  /** `--pkcs11-module` (dtrust): PKCS#11 library for root keys on a token, or `none`. */
  pkcs11Module?: string;
  debug?: boolean;
  verbose?: boolean;
}

export interface Config {
  program: 'dtrust' | 'notary';
  /** Absolute. */
  trustDir: string;
  trustDirFrom: 'flag' | 'config' | 'default';
  serverUrl: string;
  serverUrlFrom: 'flag' | 'config' | 'env' | 'default';
  /** Absolute paths. */
  tls: { caFile?: string; certFile?: string; keyFile?: string; skipVerify: boolean };
  /** `certs`: GUN or `prefix*` -> certificate IDs; `ca`: GUN prefix -> absolute CA bundle path. */
  trustPinning: { certs: Record<string, string[]>; ca: Record<string, string>; disableTofu: boolean };
  /** The config file that was read (absolute), if any. */
  configFile?: string;
  logLevel: 'warning' | 'info' | 'debug';
  /**
   * The config file's PKCS#11 library (`pkcs11.module`, or `pkcs11_module`), absolute, or `none`.
   * The flag and DTRUST_PKCS11_MODULE come first (keystore/pkcs11-module.ts).
   */
  pkcs11Module?: string;
  /** Lines for the user (stderr), e.g. the HOME warnings or the keys-elsewhere note. */
  notices: string[];
}

export type Env = Record<string, string | undefined>;

export const DEFAULT_SERVER_URL = 'https://notary-server:4443';
/** Config files are a few hundred bytes; anything this large is a mistake. */
export const MAX_CONFIG_FILE_SIZE = 1024 * 1024;

/** Extensions viper (hence notary) would accept but that dtrust does not parse. */
const OTHER_VIPER_TYPES = new Set(['yaml', 'yml', 'toml', 'hcl', 'tfvars', 'properties', 'props', 'prop', 'ini', 'env', 'dotenv']);

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

class PathResolver {
  constructor(
    readonly home: string | undefined,
    readonly cwd: string,
  ) {}

  /** `~` / `~/…` → $HOME (`~user` is left alone, as a shell would need to look it up). */
  expand(p: string, what: string): string {
    if (p !== '~' && !p.startsWith('~/')) return p;
    if (this.home === undefined) {
      throw new ConfigError('HOME_UNSET', `cannot expand "~" in ${what} (${p}): HOME is not set`, {
        key: what,
        hint: 'set HOME or give an absolute path',
      });
    }
    return join(this.home, p.slice(1));
  }

  /** Expanded, then absolute against `base`, normalised. */
  abs(p: string, base: string, what: string): string {
    const e = this.expand(p, what);
    return isAbsolute(e) ? resolve(e) : resolve(base, e);
  }
}

/** `~/…` for paths under HOME (for messages). */
function tildePath(p: string, home: string | undefined): string {
  if (home === undefined) return p;
  const rel = relative(home, p);
  if (rel === '') return '~';
  if (rel.startsWith('..') || isAbsolute(rel)) return p;
  return `~/${rel.split(sep).join('/')}`;
}

// ---------------------------------------------------------------------------------------------
// Reading the file

interface ConfigFileData {
  path: string;
  /** Top-level keys, lower-cased (viper matches keys case-insensitively). */
  root: Map<string, Json>;
}

function readConfigFile(path: string, shown: string, explicit: boolean): ConfigFileData | undefined {
  if (explicit) {
    const ext = extname(path).slice(1);
    if (ext.toLowerCase() !== 'json') {
      throw new ConfigError('CONFIG_UNSUPPORTED_TYPE', `error opening config file: Unsupported Config Type ${JSON.stringify(ext)}`, {
        path,
        hint: OTHER_VIPER_TYPES.has(ext.toLowerCase())
          ? `dtrust reads JSON configuration files only: convert ${shown} to JSON and name it *.json`
          : `name the configuration file *.json (it must contain JSON)`,
      });
    }
  }
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    if (st.size > MAX_CONFIG_FILE_SIZE) {
      throw new ConfigError('CONFIG_UNREADABLE', `error opening config file: ${shown} is larger than ${MAX_CONFIG_FILE_SIZE} bytes`, {
        path,
        hint: 'a notary configuration file is a small JSON object; check the -c argument',
      });
    }
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (errnoCode(e) === 'ENOENT' && !explicit) return undefined; // default file absent: defaults
    if (errnoCode(e) === 'ENOENT') {
      throw new ConfigError('CONFIG_NOT_FOUND', `error opening config file: ${goFileError(e, shown)}`, {
        path,
        hint: `check the path given with -c/--configFile (${path}), or leave -c out to use the defaults`,
      }, e);
    }
    throw new ConfigError('CONFIG_UNREADABLE', `error opening config file: ${goFileError(e, shown)}`, {
      path,
      hint: `make ${path} a readable file, or pass another one with -c`,
    }, e);
  }

  const syntax = goJsonSyntaxError(bytes);
  if (syntax) {
    throw new ConfigError('CONFIG_SYNTAX', `error opening config file: While parsing config: ${syntax.message}`, {
      path,
      line: syntax.line,
      column: syntax.column,
      hint: `fix the JSON in ${path} at line ${syntax.line}, column ${syntax.column}`,
    });
  }
  let doc: Json;
  try {
    doc = parseJson(bytes, { what: path });
  } catch (e) {
    // Only nesting deeper than our parser's limit (Go allows 10000) gets here.
    throw new ConfigError('CONFIG_SYNTAX', `error opening config file: While parsing config: ${(e as Error).message}`, {
      path,
      hint: `simplify the JSON in ${path}`,
    }, e);
  }
  if (doc === null) return { path, root: new Map() }; // Go decodes `null` into an empty map
  if (!isJsonObject(doc)) {
    const kind = Array.isArray(doc) ? 'array' : typeof doc === 'boolean' ? 'bool' : typeof doc;
    throw new ConfigError(
      'CONFIG_SYNTAX',
      `error opening config file: While parsing config: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`,
      { path, hint: `the configuration file must hold one JSON object, e.g. {"trust_dir": "~/.notary"}` },
    );
  }
  return { path, root: lowerKeys(doc) };
}

/** Keys of one object level, lower-cased; on a clash the later key wins. */
function lowerKeys(o: JsonObject): Map<string, Json> {
  const m = new Map<string, Json>();
  for (const [k, v] of Object.entries(o)) m.set(k.toLowerCase(), v);
  return m;
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

class Values {
  constructor(readonly file: ConfigFileData | undefined) {}

  private bad(key: string, expected: string, v: Json): never {
    throw new ConfigError('CONFIG_INVALID_VALUE', `invalid value for ${key} in ${this.file?.path}: expected ${expected}, got ${typeName(v)}`, {
      ...(this.file ? { path: this.file.path } : {}),
      key,
      hint: `fix ${key} in ${this.file?.path}`,
    });
  }

  section(name: string): Map<string, Json> | undefined {
    const v = this.file?.root.get(name);
    if (v === undefined || v === null) return undefined;
    if (!isJsonObject(v)) this.bad(name, 'an object', v);
    return lowerKeys(v);
  }

  string(sec: Map<string, Json> | undefined, key: string, full: string): string | undefined {
    const v = sec?.get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.bad(full, 'a string', v);
    return v === '' ? undefined : v;
  }

  /** viper's GetBool: booleans, numbers (non-zero), and Go's ParseBool strings. */
  bool(sec: Map<string, Json> | undefined, key: string, full: string): boolean {
    const v = sec?.get(key);
    if (v === undefined || v === null) return false;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
    if (typeof v === 'string') {
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
    }
    return this.bad(full, 'true or false', v);
  }
}

// ---------------------------------------------------------------------------------------------
// Keys-elsewhere notice

function countKeys(trustDir: string): number {
  let count = 0;
  let budget = 10_000;
  const walk = (dir: string, depth: number): void => {
    let ents: Dirent[];
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (--budget < 0) return;
      if (e.isDirectory() && depth < 4) walk(join(dir, e.name), depth + 1);
      else if (e.isFile() && e.name.endsWith('.key')) count++; // symlinks are ignored, as notary does
    }
  };
  walk(join(trustDir, 'private'), 0);
  return count;
}

// ---------------------------------------------------------------------------------------------

/**
 * Whose default trust directory a command uses: notary's verbs run as `notary` use notary's
 * (`~/.notary`); docker's verbs under either name, and every verb run as `dtrust`, use docker's.
 */
export type TrustDirDefault = 'notary' | 'docker';

/** Builds the one Config of a command from its global flags, environment and working directory. */
export async function loadConfig(
  flags: GlobalFlags,
  env: Env,
  cwd: string,
  program: 'dtrust' | 'notary',
  defaults: TrustDirDefault = program === 'notary' ? 'notary' : 'docker',
): Promise<Config> {
  if (!isAbsolute(cwd)) {
    throw new ConfigError('BAD_CWD', `internal error: the working directory must be absolute, got ${JSON.stringify(cwd)}`);
  }
  const notices: string[] = [];
  const home = nonEmpty(env['HOME']);
  const paths = new PathResolver(home, cwd);
  if (home === undefined) {
    notices.push('cannot get current user home directory: environment variable not set');
    notices.push(`${program} will use ${join(cwd, '.notary')} to store configuration and keys`);
  }

  // Default directories.
  const notaryDir = join(home ?? cwd, '.notary');
  const dockerConfig = nonEmpty(env['DOCKER_CONFIG']);
  const dockerTrustDir =
    dockerConfig !== undefined ? join(resolve(cwd, dockerConfig), 'trust') : home !== undefined ? join(home, '.docker', 'trust') : undefined;
  const defaultTrustDir = defaults === 'notary' ? notaryDir : (dockerTrustDir ?? notaryDir);

  // The config file.
  const cFlag = nonEmpty(flags.configFile);
  const file =
    cFlag !== undefined
      ? readConfigFile(paths.abs(cFlag, cwd, '-c/--configFile'), cFlag, true)
      : readConfigFile(join(notaryDir, 'config.json'), join(notaryDir, 'config.json'), false);
  const configDir = file ? dirname(file.path) : cwd;
  const values = new Values(file);

  // Trust directory.
  let trustDir: string;
  let trustDirFrom: Config['trustDirFrom'];
  const dFlag = nonEmpty(flags.trustDir);
  const dConfig = values.string(file?.root, 'trust_dir', 'trust_dir');
  if (dFlag !== undefined) {
    trustDir = paths.abs(dFlag, cwd, '-d/--trustDir');
    trustDirFrom = 'flag';
  } else if (dConfig !== undefined) {
    trustDir = paths.abs(dConfig, configDir, 'trust_dir');
    trustDirFrom = 'config';
  } else {
    trustDir = defaultTrustDir;
    trustDirFrom = 'default';
  }

  // Server.
  const remote = values.section('remote_server');
  let serverUrl: string;
  let serverUrlFrom: Config['serverUrlFrom'];
  const sFlag = nonEmpty(flags.server);
  const sConfig = values.string(remote, 'url', 'remote_server.url');
  const sEnv = program === 'dtrust' ? nonEmpty(env['DOCKER_CONTENT_TRUST_SERVER']) : undefined;
  if (sFlag !== undefined) {
    serverUrl = sFlag;
    serverUrlFrom = 'flag';
  } else if (sConfig !== undefined) {
    serverUrl = sConfig;
    serverUrlFrom = 'config';
  } else if (sEnv !== undefined) {
    serverUrl = sEnv;
    serverUrlFrom = 'env';
  } else {
    serverUrl = DEFAULT_SERVER_URL;
    serverUrlFrom = 'default';
  }

  // TLS files.
  const tlsPath = (flag: string | undefined, flagName: string, key: string): string | undefined => {
    const f = nonEmpty(flag);
    if (f !== undefined) return paths.abs(f, cwd, flagName);
    const c = values.string(remote, key, `remote_server.${key}`);
    return c === undefined ? undefined : paths.abs(c, configDir, `remote_server.${key}`);
  };
  const tls: Config['tls'] = { skipVerify: values.bool(remote, 'skiptlsverify', 'remote_server.skipTLSVerify') };
  const caFile = tlsPath(flags.tlscacert, '--tlscacert', 'root_ca');
  const certFile = tlsPath(flags.tlscert, '--tlscert', 'tls_client_cert');
  const keyFile = tlsPath(flags.tlskey, '--tlskey', 'tls_client_key');
  if (caFile !== undefined) tls.caFile = caFile;
  if (certFile !== undefined) tls.certFile = certFile;
  if (keyFile !== undefined) tls.keyFile = keyFile;

  // Trust pinning.
  const pinning = values.section('trust_pinning');
  const certs: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  const ca: Record<string, string> = Object.create(null) as Record<string, string>;
  const certsRaw = pinning?.get('certs');
  if (certsRaw !== undefined && certsRaw !== null) {
    const invalid = (): never => {
      throw new ConfigError('CONFIG_INVALID_VALUE', 'invalid format for trust_pinning.certs', {
        ...(file ? { path: file.path } : {}),
        key: 'trust_pinning.certs',
        hint: `trust_pinning.certs maps each GUN (or "prefix*") to a list of certificate IDs, e.g. {"example.com/app": ["<64 hex>"]}; fix it in ${file?.path}`,
      });
    };
    if (!isJsonObject(certsRaw)) invalid();
    for (const [gun, ids] of Object.entries(certsRaw as JsonObject)) {
      if (!Array.isArray(ids) || !ids.every((x): x is string => typeof x === 'string')) invalid();
      certs[gun] = [...(ids as string[])];
    }
  }
  const caRaw = pinning?.get('ca');
  if (caRaw !== undefined && caRaw !== null) {
    const invalid = (): never => {
      throw new ConfigError('CONFIG_INVALID_VALUE', 'invalid format for trust_pinning.ca', {
        ...(file ? { path: file.path } : {}),
        key: 'trust_pinning.ca',
        hint: `trust_pinning.ca maps each GUN prefix to the path of a CA bundle, e.g. {"example.com/": "ca.pem"}; fix it in ${file?.path}`,
      });
    };
    if (!isJsonObject(caRaw)) invalid();
    for (const [prefix, p] of Object.entries(caRaw as JsonObject)) {
      if (typeof p !== 'string' || p === '') invalid();
      ca[prefix] = paths.abs(p as string, configDir, `trust_pinning.ca["${prefix}"]`);
    }
  }
  const disableTofu = values.bool(pinning, 'disable_tofu', 'trust_pinning.disable_tofu');

  // PKCS#11 library for root keys on a token (dtrust; notary only searches fixed paths).
  const pkcs11Section = values.section('pkcs11');
  const pkcs11Raw = values.string(pkcs11Section, 'module', 'pkcs11.module') ?? values.string(file?.root, 'pkcs11_module', 'pkcs11_module');
  const pkcs11Module =
    pkcs11Raw === undefined ? undefined : /^(none|off)$/i.test(pkcs11Raw.trim()) ? 'none' : paths.abs(pkcs11Raw, configDir, 'pkcs11.module');

  // Keys kept in the other program's default directory.
  if (trustDirFrom === 'default') {
    const other = defaults === 'notary' ? dockerTrustDir : notaryDir;
    if (other !== undefined && other !== trustDir) {
      const mine = countKeys(trustDir);
      const theirs = mine === 0 ? countKeys(other) : 0;
      if (mine === 0 && theirs > 0) {
        notices.push(
          `note: no keys in ${tildePath(join(trustDir, 'private'), home)}, but ${tildePath(join(other, 'private'), home)} has ${theirs} key${theirs === 1 ? '' : 's'}; pass -d ${tildePath(other, home)} to use them`,
        );
      }
    }
  }

  const config: Config = {
    program,
    trustDir,
    trustDirFrom,
    serverUrl,
    serverUrlFrom,
    tls,
    trustPinning: { certs, ca, disableTofu },
    logLevel: flags.debug ? 'debug' : flags.verbose ? 'info' : 'warning',
    notices,
  };
  if (file) config.configFile = file.path;
  if (pkcs11Module !== undefined) config.pkcs11Module = pkcs11Module;
  return config;
}
