// Image references as docker reads them (distribution/reference ParseNormalizedNamed, cli.md
// §11.2): `alpine:3.19` → docker.io/library/alpine, tag 3.19; `example/app` → docker.io/example/app;
// `registry.example.com:5000/team/app:1.0` → that host and path. The GUN is the fully qualified
// name without tag or digest; the target is the tag.

import { DockerError } from './errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
/** Docker Hub's notary server and registry endpoint. */
export const HUB_NOTARY_SERVER = 'https://notary.docker.io';
export const HUB_REGISTRY = 'https://registry-1.docker.io';
/** The key `docker login` stores Docker Hub credentials under. */
export const HUB_AUTH_KEY = 'https://index.docker.io/v1/';
export const NAME_TOTAL_LENGTH_MAX = 255;

// distribution/reference's grammar (regexp.go).
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_IDENTIFIER = /^[a-f0-9]{64}$/;
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageReference {
  /** The argument exactly as typed (docker prints it in most messages). */
  original: string;
  /** Registry host[:port], normalised (`docker.io` for Docker Hub). */
  domain: string;
  /** Repository path inside the registry (`library/alpine`). */
  path: string;
  /** `domain/path`: the GUN of the trust data. */
  name: string;
  tag?: string;
  /** `algorithm:hex`. */
  digest?: string;
}

function invalid(message: string, original: string): DockerError {
  return new DockerError(
    'INVALID_REFERENCE',
    message,
    { hint: `an image reference looks like NAME[:TAG], e.g. alpine:3.19, example/app:v1 or registry.example.com:5000/team/app:1.0 (got ${JSON.stringify(original.slice(0, 200))})` },
  );
}

/** docker's splitDockerDomain. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = i < 0 ? '' : name.slice(0, i);
  if (i < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** ParseNormalizedNamed with docker's messages. */
export function parseImageReference(s: string): ImageReference {
  if (s.length > 4096) throw invalid('invalid reference format', s);
  if (ANCHORED_IDENTIFIER.test(s)) throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`, s);
  const { domain, remainder } = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep >= 0 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`, s);
  const full = `${domain}/${remainder}`;
  const m = REFERENCE.exec(full);
  if (!m) {
    if (s === '') throw invalid('repository name must have at least one component', s);
    if (REFERENCE.test(full.toLowerCase())) throw invalid('invalid reference format: repository name must be lowercase', s);
    throw invalid('invalid reference format', s);
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`, s);
  const ref: ImageReference = { original: s, domain, path: name.slice(domain.length + 1), name };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    const [alg, hex] = m[3].split(':') as [string, string];
    const want = DIGEST_LENGTHS[alg];
    if (want === undefined) throw invalid('unsupported digest algorithm', s);
    if (hex.length !== want) throw invalid('invalid checksum digest length', s);
    if (!/^[a-f0-9]+$/.test(hex)) throw invalid('invalid checksum digest format', s);
    ref.digest = m[3];
  }
  return ref;
}

/** docker's FamiliarName: `alpine`, `example/app`, `registry.example.com:5000/team/app`. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return ref.name;
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) && ref.path.split('/').length === 2 ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

export function isOfficialIndex(domain: string): boolean {
  return domain === DEFAULT_DOMAIN;
}

/** docker's default notary server for a registry: notary.docker.io for Docker Hub, else the registry host over https. */
export function defaultTrustServer(domain: string): string {
  return isOfficialIndex(domain) ? HUB_NOTARY_SERVER : `https://${domain}`;
}

/** The URL docker's credential store keys a registry under (config.json `auths`, helpers). */
export function credentialServer(domain: string): string {
  return isOfficialIndex(domain) ? HUB_AUTH_KEY : `https://${domain}`;
}

/** `localhost`, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopbackHost(hostPort: string): boolean {
  let host = hostPort;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') < 0 ? undefined : host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.indexOf(':'));
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface RegistryEndpoint {
  url: string;
  /** Skip certificate verification (docker's insecure registries: loopback, or listed). */
  skipVerify: boolean;
}

/**
 * Where the registry API of `domain` is, in the order docker tries: Docker Hub's endpoint; https
 * for every other registry; and for an insecure registry (loopback, as docker's default, or one
 * listed in `insecure`) https without verification first, then plain http.
 */
export function registryEndpoints(domain: string, insecure: readonly string[] = []): RegistryEndpoint[] {
  if (isOfficialIndex(domain)) return [{ url: HUB_REGISTRY, skipVerify: false }];
  if (isLoopbackHost(domain) || insecure.includes(domain)) {
    return [
      { url: `https://${domain}`, skipVerify: true },
      { url: `http://${domain}`, skipVerify: true },
    ];
  }
  return [{ url: `https://${domain}`, skipVerify: false }];
}

/** docker's signer/key name rule. */
export const VALID_NAME = /^[a-z0-9][a-z0-9_-]*$/;
