// migrate (issue 17): BENCH_MIGRATE_REPOS repositories (default 50) of BENCH_MIGRATE_TAGS tags
// each (default 10: 500 tags) signed in DCT on the real notary-server, their images in the real
// registry, migrated to cosign bundles by one `dtrust migrate --from LIST` run with the trust
// server and the registry both behind 20 ms latency proxies (the bench's, as `delegations` uses).
// Then the same command again (everything is signed already: nothing is pushed). One run each:
// a migration is a one-off, and the figure is its wall time.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { baseEnv, runDtrust } from '../test/rig/notary.js';
import { startRegistry } from '../test/rig/registry.js';
import { envInt, log, type BenchContext } from './context.js';
import { startLatencyProxy } from './proxy.js';
import { ms } from './stats.js';

const DELAY_MS = 20;

async function put(url: string, body: Buffer, type: string): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body, headers: { 'content-type': type } });
  if (res.status !== 201) throw new Error(`PUT ${url}: ${res.status} ${await res.text()}`);
}

async function uploadBlob(base: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`blob upload to ${repo}: ${start.status}`);
  const loc = new URL(start.headers.get('location')!, base);
  loc.searchParams.set('digest', digest);
  await put(loc.href, bytes, 'application/octet-stream');
  return digest;
}

/** Pushes `tags` small OCI images (one shared config and layer, a distinct annotation each). */
async function pushImages(base: string, repo: string, tags: number): Promise<{ tag: string; digest: string; size: number }[]> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(`layer of ${repo}`);
  const configDigest = await uploadBlob(base, repo, config);
  const layerDigest = await uploadBlob(base, repo, layer);
  const out: { tag: string; digest: string; size: number }[] = [];
  for (let i = 0; i < tags; i++) {
    const tag = `v${i + 1}`;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
        annotations: { 'bench.tag': tag },
      }),
    );
    await put(`${base}/v2/${repo}/manifests/${tag}`, manifest, 'application/vnd.oci.image.manifest.v1+json');
    out.push({ tag, digest: createHash('sha256').update(manifest).digest('hex'), size: manifest.length });
  }
  return out;
}

export async function runMigrate(ctx: BenchContext): Promise<void> {
  const repos = envInt('BENCH_MIGRATE_REPOS', 50);
  const tags = envInt('BENCH_MIGRATE_TAGS', 10);
  const server = await ctx.server();
  const reg = await startRegistry();
  const notaryProxy = await startLatencyProxy(server.port, DELAY_MS);
  const regProxy = await startLatencyProxy(reg.port, DELAY_MS);
  try {
    const home = await ctx.tempDir('dtrust-bench-migrate-');
    const trustDir = join(home, 'docker', 'trust');
    const env = { ...baseEnv(home), DOCKER_CONFIG: join(home, 'docker'), DOCKER_CONTENT_TRUST_SERVER: notaryProxy.url, COSIGN_PASSWORD: 'bench', DTRUST_KDF_ITERATIONS: '2048' };
    // Image names use the registry proxy's address: GUNs name it, migrate reaches the registry through it.
    const regHost = `127.0.0.1:${regProxy.port}`;
    const t0 = performance.now();
    const images: string[] = [];
    for (let r = 0; r < repos; r++) {
      const repo = `bench/app-${String(r).padStart(3, '0')}`;
      const pushed = await pushImages(reg.url, repo, tags);
      const list = join(home, `targets-${r}.txt`);
      await writeFile(list, pushed.map((p) => `${p.tag} ${p.size} ${p.digest}\n`).join(''));
      const gun = `${regHost}/${repo}`;
      const res = await runDtrust(['-s', server.url, '-d', trustDir, 'addhash', gun, '--from', list, '-p'], { home, env, timeoutMs: 120_000 });
      if (res.code !== 0) throw new Error(`publishing ${gun}: ${res.stderr}`);
      images.push(gun);
    }
    log(`setup: ${repos} repositories x ${tags} tags signed in DCT and pushed in ${ms(performance.now() - t0)}`);
    const keyGen = await runDtrust(['migrate', 'key', 'generate', 'cosign', '--dir', home], { home, env, cwd: home });
    if (keyGen.code !== 0) throw new Error(`key generate: ${keyGen.stderr}`);
    const listFile = join(home, 'images.txt');
    // The migrating machine has its own trust directory: every root is met for the first time (TOFU).
    const migrator = { ...env, DOCKER_CONFIG: join(home, 'migrator') };
    await writeFile(listFile, images.join('\n') + '\n');
    const results: Record<string, unknown> = { repos, tags, delayMs: DELAY_MS };
    for (const pass of ['first', 'again'] as const) {
      notaryProxy.reset();
      regProxy.reset();
      const start = performance.now();
      const res = await runDtrust(['migrate', '--from', listFile, '--key', join(home, 'cosign.key'), '--json'], { home, env: migrator, cwd: home, timeoutMs: 1_800_000 });
      const wall = performance.now() - start;
      if (res.code !== 0) throw new Error(`migrate (${pass}): exit ${res.code}\n${res.stderr.slice(0, 4000)}`);
      const report = JSON.parse(res.stdout) as { rows: { status: string }[] };
      const want = pass === 'first' ? 'attached' : 'already-signed';
      const ok = report.rows.filter((x) => x.status === want).length;
      if (ok !== repos * tags) throw new Error(`migrate (${pass}): ${ok} of ${repos * tags} rows are ${want}`);
      const reg = regProxy.stats();
      const tuf = notaryProxy.stats();
      log(`migrate ${pass}: ${repos * tags} tags ${want} in ${ms(wall)}; registry ${reg.requests} requests over ${reg.connections} connections, notary ${tuf.requests} requests`);
      results[pass] = { wallMs: Math.round(wall), registryRequests: reg.requests, notaryRequests: tuf.requests };
    }
    log(`results: ${await ctx.writeResults('migrate', results)}`);
  } finally {
    await notaryProxy.close();
    await regProxy.close();
    await reg.stop();
  }
}
