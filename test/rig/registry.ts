// A REAL registry for the docker trust tests (Debian `docker-registry`, distribution 2.8) on a
// free 127.0.0.1 port with filesystem storage in a temp dir, optionally behind htpasswd (Basic)
// auth; images are built by the test as OCI layouts and pushed with Debian `skopeo`.
import { after, before } from 'node:test';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getFreePort, httpGet, pidAlive } from './server.js';
import { runProcess, type RunResult } from './notary.js';
import { makeTempDir, removeTempDir } from './tmp.js';

export const REGISTRY_BIN = process.env['DOCKER_REGISTRY_BIN'] || 'docker-registry';
export const SKOPEO_BIN = process.env['SKOPEO_BIN'] || 'skopeo';

export interface Registry {
  /** `127.0.0.1:<port>`: the registry part of image names. */
  host: string;
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Basic-auth credentials when the registry requires them. */
  auth?: { username: string; password: string };
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Require Basic auth (htpasswd, bcrypt) with these credentials. */
  auth?: { username: string; password: string };
}

const running = new Map<number, ChildProcess>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const pid of running.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** An htpasswd line with a bcrypt hash, made by `htpasswd` (apache2-utils). */
async function htpasswdLine(username: string, password: string): Promise<string> {
  const r = await runProcess('htpasswd', ['-nbB', '-C', '4', username, password]);
  if (r.code !== 0) throw new Error(`htpasswd failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim() + '\n';
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  installCleanup();
  const dir = await makeTempDir('dtrust-registry-');
  const port = await getFreePort();
  const host = `127.0.0.1:${port}`;
  let authYaml = '';
  if (opts.auth) {
    await writeFile(join(dir, 'htpasswd'), await htpasswdLine(opts.auth.username, opts.auth.password), { mode: 0o600 });
    authYaml = `auth:\n  htpasswd:\n    realm: dtrust-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  const config =
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\n  delete:\n    enabled: true\n` +
    `http:\n  addr: ${host}\n  secret: dtrust-test-secret\n${authYaml}`;
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, config, { mode: 0o600 });
  const logFile = join(dir, 'registry.log');
  const fd = openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(REGISTRY_BIN, ['serve', configFile], { cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir }, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let spawnErr: Error | undefined;
  child.once('error', (e) => {
    spawnErr = e;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await sleep(10);
    throw new Error(`could not start ${REGISTRY_BIN}: ${spawnErr?.message ?? 'no pid'}`);
  }
  running.set(pid, child);
  const tail = (lines = 30): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '';
    }
  };
  let stopped: Promise<void> | undefined;
  const reg: Registry = {
    host,
    url: `http://${host}`,
    port,
    pid,
    dir,
    ...(opts.auth ? { auth: opts.auth } : {}),
    logTail: tail,
    stop() {
      stopped ??= (async () => {
        child.ref();
        try {
          if (!(await waitForExit(child, 0))) {
            try {
              process.kill(pid, 'SIGTERM');
            } catch {
              // raced with its exit
            }
            if (!(await waitForExit(child, 5_000))) {
              process.kill(pid, 'SIGKILL');
              await waitForExit(child, 5_000);
            }
          }
          if (pidAlive(pid)) throw new Error(`docker-registry pid ${pid} still exists`);
        } finally {
          running.delete(pid);
          child.unref();
          await removeTempDir(dir);
        }
      })();
      return stopped;
    },
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (spawnErr) throw new Error(`could not start ${REGISTRY_BIN}: ${spawnErr.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(pid);
      throw new Error(`docker-registry exited early (${child.exitCode ?? child.signalCode}); log:\n${tail()}`);
    }
    try {
      const r = await httpGet(`${reg.url}/v2/`, 1_000);
      if (r.status === 200 || r.status === 401) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await reg.stop().catch(() => undefined);
      throw new Error(`docker-registry on ${host} did not answer within 15 s; log:\n${tail()}`);
    }
    await sleep(50);
  }
  return reg;
}

/** One registry for the current test scope (file or describe), started in before(), stopped in after(). */
export function useRegistry(opts: RegistryOptions = {}): () => Registry {
  let reg: Registry | undefined;
  before(async () => {
    reg = await startRegistry(opts);
  });
  after(async () => {
    const r = reg;
    reg = undefined;
    if (r) await r.stop();
  });
  return () => {
    if (!reg) throw new Error('useRegistry(): registry not running (only available inside tests)');
    return reg;
  };
}

// ---------------------------------------------------------------------------------------------
// OCI image layouts

export interface Blob {
  digest: string;
  size: number;
}

export interface OciImage {
  /** The layout directory. */
  dir: string;
  tag: string;
  /** Manifest (or index) digest `sha256:<hex>` and size: what a signature must name. */
  digest: string;
  hex: string;
  size: number;
  mediaType: string;
}

function sha256hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function putBlob(dir: string, bytes: Buffer): Promise<Blob> {
  const hex = sha256hex(bytes);
  await writeFile(join(dir, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** A ustar archive with one regular file. */
function tarOneFile(name: string, content: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(content.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(body);
  return Buffer.concat([h, body, Buffer.alloc(1024)]);
}

async function imageManifest(dir: string, content: string, arch: string): Promise<{ bytes: Buffer; blob: Blob }> {
  const layer = await putBlob(dir, tarOneFile('hello.txt', Buffer.from(content)));
  const config = await putBlob(
    dir,
    Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: {} })),
  );
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    }),
  );
  return { bytes, blob: await putBlob(dir, bytes) };
}

/**
 * Writes an OCI image layout with one tagged image (a single-platform manifest), or with
 * `index: true` an image index over two platform manifests. `content` makes the digest unique.
 */
export async function buildOciImage(tag: string, content: string, opts: { index?: boolean } = {}): Promise<OciImage> {
  const dir = await makeTempDir('dtrust-oci-');
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  let top: Blob;
  let mediaType: string;
  if (opts.index) {
    const amd = await imageManifest(dir, `${content} amd64`, 'amd64');
    const arm = await imageManifest(dir, `${content} arm64`, 'arm64');
    const entry = (b: Blob, architecture: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...b, platform: { architecture, os: 'linux' } });
    mediaType = 'application/vnd.oci.image.index.v1+json';
    top = await putBlob(dir, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: [entry(amd.blob, 'amd64'), entry(arm.blob, 'arm64')] })));
  } else {
    mediaType = 'application/vnd.oci.image.manifest.v1+json';
    top = (await imageManifest(dir, content, 'amd64')).blob;
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType, ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return { dir, tag, digest: top.digest, hex: top.digest.slice('sha256:'.length), size: top.size, mediaType };
}

/**
 * `skopeo copy` of the layout's tag to `<registry>/<repository>:<tag>`, digests preserved (so
 * the registry holds exactly the manifest bytes the test built). Throws unless it succeeds.
 */
export async function skopeoPush(image: OciImage, reg: Registry, repository: string, tag = image.tag): Promise<RunResult> {
  const home = await makeTempDir('dtrust-skopeo-home-');
  const args = ['--insecure-policy', 'copy', '--preserve-digests', '--dest-tls-verify=false', '--retry-times', '0'];
  if (image.mediaType.includes('index')) args.push('--all');
  if (reg.auth) args.push('--dest-creds', `${reg.auth.username}:${reg.auth.password}`);
  args.push(`oci:${image.dir}:${image.tag}`, `docker://${reg.host}/${repository}:${tag}`);
  const r = await runProcess(SKOPEO_BIN, args, { env: { PATH: process.env['PATH'], HOME: home, XDG_RUNTIME_DIR: home, XDG_CONFIG_HOME: home }, timeoutMs: 60_000 });
  await removeTempDir(home);
  if (r.code !== 0) throw new Error(`skopeo copy failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A docker config directory with `config.json` holding a login for `host` (base64 `auth`, as docker login writes it). */
export async function dockerConfigWithLogin(host: string, username: string, password: string): Promise<string> {
  const dir = await makeTempDir('dtrust-docker-config-');
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth } } }, null, '\t') + '\n', { mode: 0o600 });
  return dir;
}
