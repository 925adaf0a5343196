// The Docker Registry HTTP API v2, for the one thing the trust verbs need from a registry: the
// manifest a tag points at, as bytes, so that its sha256 and length can be signed (cli.md §11.2).
//
// - `GET /v2/` first (the ping): 200 or 401 means a registry is there; a 401's challenges say how
//   to authenticate (Bearer token or Basic), handled by the same AuthSession as notary-server,
//   with docker's credentials (config.json `auths`, credential helpers).
// - `GET /v2/<repository>/manifests/<tag>` accepting Docker v2 manifests and manifest lists and
//   OCI manifests and indexes (all signable), body bounded at 4 MiB (the registry's own limit).
// - The digest is computed from the bytes received; when the registry states one
//   (Docker-Content-Digest) it must agree, or nothing is signed.
// - Endpoints are tried in order (docker: https, then plain http for an insecure registry); a
//   TLS failure or refused connection moves to the next one.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AuthSession, parseChallenges } from './auth.js';
import { certsDirectory } from './certsdir.js';
import type { CredentialProvider } from './credentials.js';
import { MESSAGES, RemoteError, sanitize } from './errors.js';
import { HttpClient, type HttpResponse, type RetryPolicy, type Timeouts } from './http.js';
import { loadTls } from './tls.js';
import { escapeGun, parseServerUrl, type ServerUrl } from './url.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

const SIGNABLE = new Set<string>(Object.values(MEDIA_TYPES));
const SCHEMA1 = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);

/** distribution's maximum manifest size. */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
const MAX_PING_BODY = 64 * 1024;

export interface RegistryEndpointOption {
  /** `https://host[:port]` or `http://host[:port]`. */
  url: string;
  skipVerify?: boolean;
}

export interface RegistryOptions {
  /** Endpoints to try in order (the first that answers the ping is used). */
  endpoints: readonly RegistryEndpointOption[];
  /** Repository path inside the registry, e.g. `library/alpine`. */
  repository: string;
  /** docker's credentials for this registry (never prompted for). */
  credentials?: CredentialProvider;
  /** Allow username/password over plain http (loopback registries). */
  allowInsecureAuth?: boolean;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetryPolicy>;
  /** Told when an endpoint fails and the next is tried. */
  onFallback?: (from: string, error: RemoteError) => void;
  /** docker's certs.d: `<certsDir>/<host:port>` holds the registry's CAs and client certificate. */
  certsDir?: string;
  /** NODE_EXTRA_CA_CERTS of the environment, kept beside certs.d's CAs (see certsdir.ts). */
  nodeExtraCaCerts?: string;
}

export interface Manifest {
  /** `sha256:<hex>` of the bytes. */
  digest: string;
  /** The 32 digest bytes. */
  sha256: Buffer;
  size: number;
  mediaType: string;
  bytes: Buffer;
  /** The registry base URL it came from. */
  registry: string;
}

export class RegistryClient {
  private constructor(
    readonly server: ServerUrl,
    readonly repository: string,
    private readonly escapedRepository: string,
    private readonly http: HttpClient,
    private readonly auth: AuthSession,
  ) {}

  /** Pings each endpoint in turn; the first that answers like a registry is used. */
  static async connect(opts: RegistryOptions): Promise<RegistryClient> {
    if (opts.endpoints.length === 0) throw new RemoteError('CONFIG', 'no registry endpoint given', { url: '' });
    let last: unknown;
    for (let i = 0; i < opts.endpoints.length; i++) {
      const ep = opts.endpoints[i]!;
      try {
        return await RegistryClient.connectOne(ep, opts);
      } catch (e) {
        last = e;
        const more = i < opts.endpoints.length - 1;
        if (!more || !(e instanceof RemoteError) || !(e.code === 'TLS' || e.code === 'OFFLINE' || e.code === 'TIMEOUT' || e.code === 'BAD_RESPONSE')) throw e;
        opts.onFallback?.(ep.url, e);
      }
    }
    throw last;
  }

  private static async connectOne(ep: RegistryEndpointOption, opts: RegistryOptions): Promise<RegistryClient> {
    const server = parseServerUrl(ep.url);
    const escaped = escapeGun(opts.repository, server.display);
    const skipVerify = ep.skipVerify === true;
    const files = opts.certsDir !== undefined && !skipVerify ? await certsDirectory(join(opts.certsDir, server.host), server.display, opts.nodeExtraCaCerts) : {};
    const tls = await loadTls({ ...files, skipVerify }, server.display);
    const http = new HttpClient({
      tls,
      timeouts: { connectMs: 10_000, readMs: 20_000, totalMs: 60_000, ...opts.timeouts },
      ...(opts.retry ? { retry: opts.retry } : {}),
      maxSockets: 4,
    });
    const auth = new AuthSession({
      http,
      server,
      gun: opts.repository,
      scope: 'pull',
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      allowInsecureAuth: opts.allowInsecureAuth === true,
    });
    const client = new RegistryClient(server, opts.repository, escaped, http, auth);
    try {
      await client.ping();
    } catch (e) {
      http.close();
      throw e;
    }
    return client;
  }

  /** The registry base URL (no credentials). */
  get baseUrl(): string {
    return this.server.display;
  }

  close(): void {
    this.http.close();
  }

  private url(path: string): URL {
    return new URL(`${this.server.url.origin}${this.server.prefix}${path}`);
  }

  private async ping(): Promise<void> {
    const res = await this.http.request({ method: 'GET', url: this.url('/v2/'), maxBody: MAX_PING_BODY, resource: 'registry ping', timeouts: { totalMs: 20_000 } });
    if (res.status === 401) {
      this.auth.setChallenges(parseChallenges(res.wwwAuthenticate));
      return;
    }
    if (res.status >= 200 && res.status < 300) return;
    throw new RemoteError('OFFLINE', `${this.baseUrl} does not answer like a registry: GET /v2/ returned ${res.status}`, {
      status: res.status,
      url: res.url,
      resource: 'registry ping',
      hint: 'check the registry host in the image name; dtrust talks to the registry with the Registry HTTP API v2',
    });
  }

  /**
   * The manifest `reference` (a tag or `sha256:…`) points at, as the registry stores it. Refuses
   * schema-1 manifests and unknown media types, and a body whose sha256 differs from the
   * Docker-Content-Digest the registry announced.
   */
  async manifest(reference: string): Promise<Manifest> {
    if (!/^[\w][\w.-]{0,127}$/.test(reference) && !/^sha256:[a-f0-9]{64}$/.test(reference)) {
      throw new RemoteError('CONFIG', `invalid tag or digest ${JSON.stringify(sanitize(reference, 200))}`, { url: this.baseUrl });
    }
    const url = this.url(`/v2/${this.escapedRepository}/manifests/${reference}`);
    const what = `${this.repository}:${reference}`;
    let res: HttpResponse;
    try {
      res = await this.auth.request({
        method: 'GET',
        url,
        headers: { accept: [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest].join(', ') },
        maxBody: MAX_MANIFEST_SIZE,
        resource: `manifest ${what}`,
      });
    } catch (e) {
      throw this.explain(e, what);
    }
    if (res.status === 404) {
      throw new RemoteError('NOT_FOUND', `manifest unknown: ${what} is not in the registry ${this.server.host}`, {
        status: 404,
        url: res.url,
        resource: `manifest ${what}`,
        hint: `push the image first (docker push, skopeo copy, ...), or check the tag; ${this.server.host}/${this.repository} is the repository dtrust looked in`,
      });
    }
    if (res.status === 401 || res.status === 403) throw this.denied(res, what);
    if (res.status !== 200) {
      throw new RemoteError('SERVER_ERROR', `the registry ${this.server.host} answered ${res.status} for the manifest of ${what}`, {
        status: res.status,
        url: res.url,
        resource: `manifest ${what}`,
        hint: 'the registry had a problem; try again later',
      });
    }
    const bytes = res.body;
    const sha = createHash('sha256').update(bytes).digest();
    const digest = `sha256:${sha.toString('hex')}`;
    const announced = header(res, 'docker-content-digest');
    if (announced !== undefined && announced.startsWith('sha256:') && announced !== digest) {
      throw new RemoteError('BAD_RESPONSE', `the registry ${this.server.host} announced digest ${sanitize(announced, 100)} for ${what} but sent a manifest whose digest is ${digest}`, {
        url: res.url,
        resource: `manifest ${what}`,
        hint: 'nothing was signed; a proxy or the registry changed the manifest in transit',
      });
    }
    const mediaType = manifestMediaType(bytes, header(res, 'content-type'));
    if (SCHEMA1.has(mediaType)) {
      throw new RemoteError('BAD_RESPONSE', `${what} is a schema 1 manifest (${mediaType}), which docker content trust does not sign`, {
        url: res.url,
        resource: `manifest ${what}`,
        hint: 'push the image again with a current client so the registry stores a schema 2 or OCI manifest',
      });
    }
    if (!SIGNABLE.has(mediaType)) {
      throw new RemoteError('BAD_RESPONSE', `${what} has the unknown manifest media type ${JSON.stringify(sanitize(mediaType, 100))}`, {
        url: res.url,
        resource: `manifest ${what}`,
        hint: 'dtrust signs Docker v2 manifests and manifest lists, and OCI manifests and indexes',
      });
    }
    return { digest, sha256: sha, size: bytes.length, mediaType, bytes, registry: this.baseUrl };
  }

  private denied(res: HttpResponse, what: string): RemoteError {
    return new RemoteError('UNAUTHORIZED', `the registry ${this.server.host} refused access to ${what} (${res.status})`, {
      status: res.status,
      url: res.url,
      resource: `manifest ${what}`,
      hint: this.loginHint(),
    });
  }

  private loginHint(): string {
    return (
      `log in to the registry first: docker login ${this.server.host} (dtrust reads the credentials docker stores in $DOCKER_CONFIG/config.json or ~/.docker/config.json, and its credential helpers); ` +
      'or pass --digest and --size to sign without asking the registry'
    );
  }

  private explain(e: unknown, what: string): unknown {
    if (e instanceof RemoteError && e.code === 'UNAUTHORIZED') {
      const prefix = `${MESSAGES.unauthorized.slice(0, -1)}: `;
      const detail = e.message === MESSAGES.unauthorized ? '' : e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
      return new RemoteError('UNAUTHORIZED', `the registry ${this.server.host} refused access to ${what}${detail ? `: ${detail}` : ''}`, {
        ...(e.status !== undefined ? { status: e.status } : {}),
        url: e.url,
        resource: `manifest ${what}`,
        hint: this.loginHint(),
      }, e);
    }
    return e;
  }
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  if (Array.isArray(v)) return v[0];
  return typeof v === 'string' ? v.trim() : undefined;
}

/** The Content-Type without parameters, else the manifest's own `mediaType` field. */
function manifestMediaType(bytes: Buffer, contentType: string | undefined): string {
  const ct = contentType?.split(';')[0]?.trim().toLowerCase();
  if (ct && ct !== 'application/octet-stream' && ct !== 'text/plain' && ct !== 'application/json') return ct;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o['mediaType'] === 'string') return o['mediaType'];
      if (o['schemaVersion'] === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
      if (Array.isArray(o['manifests'])) return MEDIA_TYPES.ociIndex;
      if (o['schemaVersion'] === 2 && o['config'] !== undefined) return MEDIA_TYPES.ociManifest;
    }
  } catch {
    // not JSON: unknown
  }
  return ct ?? '';
}
