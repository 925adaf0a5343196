// Section `archive` (issue 16): `dtrust archive` of 200 repositories in one run through the
// proxy that adds 20 ms each way, at bounded concurrency (-j), against the yardstick notary
// offers (it has no archive): the sum of one cold `notary list` per repository, through the same
// proxy. The repositories (3 targets each, a root certificate per GUN) are built in-process with
// dtrust's engine and uploaded to the real notary-server, which signs their timestamps.
//
// Env: BENCH_ARCHIVE_REPOS (default 200), BENCH_ARCHIVE_JOBS (default 8,32).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NotaryRemote } from '../src/remote/notary.js';
import { PublicKey } from '../src/tuf/keys.js';
import { MemRepo } from '../test/support/memrepo.js';
import { envInt, envIntList, loadNote, log, type BenchContext } from './context.js';
import { cli, newSeat } from './measure.js';
import { startLatencyProxy } from './proxy.js';
import { grid, ms } from './stats.js';

const DELAY_MS = 20;

async function uploadRepo(serverUrl: string, gun: string, now: number): Promise<void> {
  const remote = await NotaryRemote.connect({ baseUrl: serverUrl, gun, env: {}, scope: 'push,pull' });
  try {
    const ts = await remote.getKey('timestamp');
    const repo = await MemRepo.create(gun, now, { timestampKey: new PublicKey(ts.keytype, ts.public) });
    for (let i = 0; i < 3; i++) repo.addTarget(`file-${i}`, `${gun} content ${i}`);
    await repo.sign({ timestamp: false });
    await remote.publish(new Map(['root', 'targets', 'snapshot'].map((r) => [r, repo.files.get(r)!])));
  } finally {
    remote.close();
  }
}

export async function runArchive(ctx: BenchContext): Promise<void> {
  const n = envInt('BENCH_ARCHIVE_REPOS', 200);
  const jobsList = envIntList('BENCH_ARCHIVE_JOBS', [8, 32]);
  const loadBefore = loadNote();
  const server = await ctx.server();
  const now = Date.now();
  const guns = Array.from({ length: n }, (_, i) => `example.com/bench/archive-${String(i).padStart(4, '0')}`);
  let t0 = performance.now();
  for (let i = 0; i < guns.length; i += 8) await Promise.all(guns.slice(i, i + 8).map((g) => uploadRepo(server.url, g, now)));
  log(`archive: ${n} repositories uploaded in ${ms(performance.now() - t0)}`);

  const proxy = await startLatencyProxy(server.port, DELAY_MS);
  ctx.onClose(() => proxy.close());
  const rows: string[][] = [];
  const out: Record<string, unknown> = {};

  const seat = await newSeat(ctx, 'dtrust', proxy.url, 'archive');
  const list = join(seat.home, 'repos.txt');
  await writeFile(list, guns.join('\n') + '\n');
  for (const jobs of jobsList) {
    const file = join(seat.home, `archive-j${jobs}.tar`);
    proxy.reset();
    const r = await cli(seat, ['archive', '--from', list, '-o', file, '-j', String(jobs)], { timeoutMs: 900_000 });
    if (!r.stdout.startsWith(`Archived ${n} repositories`)) throw new Error(`archive printed: ${r.stdout}\n${r.stderr}`);
    const st = proxy.stats();
    rows.push([`dtrust archive, ${n} repositories, -j ${jobs}`, ms(r.wallMs), `${st.requests} req / ${st.connections} conn`]);
    out[`dtrustJobs${jobs}`] = { wallMs: r.wallMs, requests: st.requests, connections: st.connections };
    const v = await cli(seat, ['archive', 'verify', file], { timeoutMs: 900_000 });
    rows.push([`dtrust archive verify (offline), ${n} repositories`, ms(v.wallMs), '']);
    out[`verifyJobs${jobs}`] = { wallMs: v.wallMs };
  }

  // The yardstick: one cold `notary list` per repository, one after the other.
  const nseat = await newSeat(ctx, 'notary', proxy.url, 'archive');
  proxy.reset();
  t0 = performance.now();
  let sum = 0;
  for (const [i, gun] of guns.entries()) {
    const r = await cli({ ...nseat, trustDir: join(nseat.home, `trust-${i}`) }, ['list', gun]);
    sum += r.wallMs;
  }
  const st = proxy.stats();
  rows.push([`sum of ${n} cold notary list`, ms(sum), `${st.requests} req / ${st.connections} conn`]);
  out['notaryListSum'] = { wallMs: sum, requests: st.requests, connections: st.connections };
  const best = Math.min(...jobsList.map((j) => (out[`dtrustJobs${j}`] as { wallMs: number }).wallMs));
  const loadAfter = loadNote();
  process.stdout.write(
    `\n== archive: ${n} repositories through a proxy adding ${DELAY_MS} ms each way per chunk (one run each)\n` +
      grid(['measurement', 'wall', 'traffic'], rows, [1]) +
      `\n  dtrust archive (best -j) / sum of notary list: ${(best / sum).toFixed(3)}\n` +
      `  load before: ${loadBefore}\n  load after:  ${loadAfter}\n\n`,
  );
  await ctx.writeResults('archive', { load: { before: loadBefore, after: loadAfter }, delayMsEachWay: DELAY_MS, repositories: n, results: out, ratio: best / sum });
}
