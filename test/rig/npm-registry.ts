// A tiny npm registry on 127.0.0.1 that serves the packages of an installed node_modules tree, so
// that `npm install` of a tarball resolves its dependencies without the network: each package
// (and what it depends on, transitively) is packed from node_modules once and served with a
// one-version packument. Only what npm's install asks for is implemented: GET /<name> and the
// tarballs.
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from './notary.js';

export interface LocalNpmRegistry {
  url: string;
  /** Package names served. */
  names: string[];
  close(): Promise<void>;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** `<dir>/node_modules/<name>` of the nearest directory, from `from` up to `root` (Node's lookup). */
function findPackage(name: string, from: string, root: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root) return undefined;
    const up = join(dir, '..');
    dir = up.endsWith('node_modules') ? join(up, '..') : up;
  }
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/**
 * Serves `names` and their dependencies as installed under `<root>/node_modules`. Packing runs
 * `npm pack` once for all of them into `workDir`.
 */
export async function serveInstalledPackages(root: string, names: readonly string[], workDir: string): Promise<LocalNpmRegistry> {
  // One entry per installed copy: a name may be installed in several versions (nested copies).
  const dirs = new Set<string>();
  const queue = names.map((name) => ({ name, from: root, optional: false }));
  while (queue.length > 0) {
    const { name, from, optional } = queue.shift()!;
    const dir = findPackage(name, from, root);
    // An optional dependency that is not installed (another platform's binary) is not served.
    if (dir === undefined && optional) continue;
    if (dir === undefined) throw new Error(`npm registry rig: ${name} is not installed under ${root}`);
    if (dirs.has(dir)) continue;
    dirs.add(dir);
    const m = readManifest(dir);
    for (const dep of Object.keys(m.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(m.optionalDependencies ?? {})) queue.push({ name: dep, from: dir, optional: true });
  }
  const packed = await runProcess('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', workDir, ...dirs], { cwd: workDir, timeoutMs: 60_000 });
  if (packed.code !== 0) throw new Error(`npm pack of the dependencies failed:\n${packed.stderr}`);
  const results = JSON.parse(packed.stdout) as { name: string; version: string; filename: string; integrity: string; shasum: string }[];

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('npm registry rig: no port');
  const url = `http://127.0.0.1:${address.port}`;

  const versions = new Map<string, Record<string, unknown>>();
  const tarballs = new Map<string, string>();
  const manifests = new Map([...dirs].map((d) => [`${readManifest(d).name}@${readManifest(d).version}`, readManifest(d)]));
  for (const r of results) {
    const tarballPath = `/-/${r.filename}`;
    tarballs.set(tarballPath, join(workDir, r.filename));
    const m = manifests.get(`${r.name}@${r.version}`)!;
    const byVersion = versions.get(r.name) ?? {};
    byVersion[r.version] = { ...m, _id: `${r.name}@${r.version}`, dist: { tarball: `${url}${tarballPath}`, integrity: r.integrity, shasum: r.shasum } };
    versions.set(r.name, byVersion);
  }
  const packuments = new Map<string, string>();
  for (const [name, byVersion] of versions) {
    const latest = Object.keys(byVersion).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
    packuments.set(name, JSON.stringify({ name, 'dist-tags': { latest }, versions: byVersion }));
  }
  server.on('request', (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const doc = packuments.get(decodeURIComponent(path.slice(1)));
    if (doc !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(doc);
      return;
    }
    const file = tarballs.get(path);
    if (file !== undefined) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  return {
    url,
    names: [...versions.keys()],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
