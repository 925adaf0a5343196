// Section `engine`: the real notary 0.7 `list` against dtrust's verification engine in-process on
// one large repository served by the real notary-server.
//
//   1. the shared repository of N targets (context.ts: init, staged changes, one real publish);
//   2. time `notary list` in a fresh trust dir (cold) and 3 more times (warm cache);
//   3. time TrustedCollectionBuilder in-process on the same downloaded bytes (median of 5);
//   4. print a table and write .bench/results-engine.json.
import { performance } from 'node:perf_hooks';
import type { NotaryServer } from '../test/rig/server.js';
import { NOTARY_BIN, NotaryClient, baseEnv, describeFailure } from '../test/rig/notary.js';
import { TrustedCollectionBuilder, checkAgainst } from '../src/tuf/builder.js';
import { parseEnvelope } from '../src/tuf/envelope.js';
import { parseTargets } from '../src/tuf/metadata.js';
import { parseTargetsFile } from '../src/tuf/targetfiles.js';
import { verifyThreshold } from '../src/tuf/verify.js';
import { envInt, loadNote, log, type BenchContext } from './context.js';
import { runTimed, type TimedRun } from './proc.js';
import { bytes, kib, median, ms, table, timeSync } from './stats.js';

const GOAL_RATIO = 0.2;
const WARM_RUNS = 3;
const ENGINE_RUNS = 5;

async function fetchBytes(url: string): Promise<Buffer> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
  return Buffer.from(await r.arrayBuffer());
}

/** Rows of notary's (and dtrust's) `list` table: lines ending in the role column. */
export function countListRows(stdout: string): number {
  let n = 0;
  for (const line of stdout.split('\n')) if (/\stargets(\/\S+)?\s*$/.test(line)) n++;
  return n;
}

async function notaryList(client: NotaryClient, server: NotaryServer, gun: string, expected: number): Promise<TimedRun> {
  const r = await runTimed(NOTARY_BIN, ['-s', server.url, '-d', client.trustDir, 'list', gun], {
    env: baseEnv(client.home),
    cwd: client.home,
    timeoutMs: 300_000,
  });
  if (r.code !== 0) throw new Error(describeFailure('notary', ['list', gun], r));
  const rows = countListRows(r.stdout);
  if (rows !== expected) throw new Error(`notary list printed ${rows} target rows, expected ${expected}`);
  return r;
}

export async function runEngine(ctx: BenchContext): Promise<void> {
  const n = envInt('BENCH_TARGETS', 100_000);
  const loadBefore = loadNote();
  const server = await ctx.server();
  const repo = await ctx.repo(n);
  const gun = repo.gun;

  // ---------------------------------------------------------------------------- notary list
  const reader = await NotaryClient.create({ serverUrl: server.url, home: await ctx.tempDir('dtrust-bench-engine-reader-') });
  const cold = await notaryList(reader, server, gun, n);
  log(`engine: notary list cold ${ms(cold.wallMs)}`);
  const warm: TimedRun[] = [];
  for (let i = 0; i < WARM_RUNS; i++) warm.push(await notaryList(reader, server, gun, n));
  const warmMs = warm.map((r) => r.wallMs);
  const warmMedian = median(warmMs);
  const warmPeaks = warm.map((r) => r.peakRssKiB).filter((v): v is number => v !== null);
  const warmPeak = warmPeaks.length > 0 ? Math.max(...warmPeaks) : null;
  log(`engine: notary list warm ${warmMs.map((v) => ms(v)).join(', ')}`);

  // ---------------------------------------------------------------------------- engine
  const base = `${server.url}/v2/${gun}/_trust/tuf`;
  const rootBytes = await fetchBytes(`${base}/root.json`);
  const tsBytes = await fetchBytes(`${base}/timestamp.json`);
  const probe = new TrustedCollectionBuilder({ gun, now: Date.now() });
  probe.loadRoot(rootBytes, 'remote');
  probe.updateTimestamp(tsBytes);
  const snapSha = probe.expectedSnapshot().hashes.get('sha256')!.toString('hex');
  const snapBytes = await fetchBytes(`${base}/snapshot.${snapSha}.json`);
  probe.updateSnapshot(snapBytes);
  const targetsMeta = probe.expectedMeta('targets')!;
  const targetsBytes = await fetchBytes(`${base}/targets.${targetsMeta.hashes.get('sha256')!.toString('hex')}.json`);

  // Per-step times of every run (the last ENGINE_RUNS entries are the timed runs).
  const steps = { root: [] as number[], timestamp: [] as number[], snapshot: [] as number[], targets: [] as number[], list: [] as number[] };
  const fullRun = (): void => {
    let t = performance.now();
    const lap = (into: number[]): void => {
      const now = performance.now();
      into.push(now - t);
      t = now;
    };
    const b = new TrustedCollectionBuilder({ gun, now: Date.now() });
    b.loadRoot(rootBytes, 'remote');
    lap(steps.root);
    b.updateTimestamp(tsBytes);
    lap(steps.timestamp);
    b.updateSnapshot(snapBytes);
    lap(steps.snapshot);
    b.updateTargets(targetsBytes);
    lap(steps.targets);
    // What `list` reads: every summary, in name order.
    let listed = 0;
    for (const t of b.listTargetSummaries()) if (t.sha256 !== '') listed++;
    lap(steps.list);
    if (listed !== n) throw new Error(`engine listed ${listed} targets with a sha256, expected ${n}`);
  };
  const full = timeSync(fullRun, ENGINE_RUNS, 1);
  const stepMedian = (xs: number[]): number => median(xs.slice(-ENGINE_RUNS));
  const engineMedian = median(full.samples);
  log(`engine: ${full.samples.map((v) => ms(v)).join(', ')} (warm-up ${ms(full.warmupMs[0])})`);

  // Phases of the targets file alone (the bulk of the work): the indexed read the builder does,
  // and the full parse (a tree of every entry) it replaced, for comparison.
  const rootMeta = probe.root!.meta;
  const env = parseTargetsFile(targetsBytes, 'targets').env;
  const indexed = timeSync(() => void parseTargetsFile(targetsBytes, 'targets'), ENGINE_RUNS, 1);
  const fullParse = timeSync(() => void parseTargets(parseEnvelope(targetsBytes, 'targets').signed, 'targets'), ENGINE_RUNS, 1);
  const hash = timeSync(() => checkAgainst('targets', targetsBytes, targetsMeta), ENGINE_RUNS, 1);
  const verify = timeSync(() => void verifyThreshold(env, 'targets', rootMeta.keys, rootMeta.roles.get('targets')!), ENGINE_RUNS, 1);

  // ---------------------------------------------------------------------------- report
  const loadAfter = loadNote();
  const ratio = engineMedian / warmMedian;
  const verdict = ratio <= GOAL_RATIO ? 'PASS' : 'MISS';
  const rows: Array<readonly [string, string]> = [
    ['targets', String(n)],
    ['targets.json', bytes(targetsBytes.length)],
    ['snapshot.json / root.json', `${bytes(snapBytes.length)} / ${bytes(rootBytes.length)}`],
    ['setup: init / stage / publish', `${ms(repo.setupMs.init)} / ${ms(repo.setupMs.stage)} / ${ms(repo.setupMs.publish)}`],
    ['notary list, cold', `${ms(cold.wallMs)}   peak RSS ${kib(cold.peakRssKiB)}`],
    ['notary list, warm (median of 3)', `${ms(warmMedian)}   [${warmMs.map((v) => ms(v)).join(', ')}]   peak RSS ${kib(warmPeak)}`],
    ['dtrust engine, full (median of 5)', `${ms(engineMedian)}   [${full.samples.map((v) => ms(v)).join(', ')}]   first run ${ms(full.warmupMs[0])}`],
    ['  root (load + fresh) / timestamp / snapshot', `${ms(stepMedian(steps.root))} / ${ms(stepMedian(steps.timestamp))} / ${ms(stepMedian(steps.snapshot))}`],
    ['  updateTargets / listTargetSummaries', `${ms(stepMedian(steps.targets))} / ${ms(stepMedian(steps.list))}`],
    ['  targets alone: parseTargetsFile (scan + index)', ms(median(indexed.samples))],
    ['  targets alone: full parse (not used; was the read)', ms(median(fullParse.samples))],
    ['  targets alone: sha256+sha512 check', ms(median(hash.samples))],
    ['  targets alone: signature verify', ms(median(verify.samples))],
    ['ratio engine / notary warm', `${ratio.toFixed(3)}  (${(1 / ratio).toFixed(1)}x faster)`],
    [`goal ratio <= ${GOAL_RATIO}`, verdict],
    ['load before / after', `${loadBefore}  /  ${loadAfter}`],
  ];
  ctx.goals.push({ section: 'engine', what: `engine vs notary list warm (${n} targets)`, value: `${ratio.toFixed(3)}`, goal: `<= ${GOAL_RATIO}`, verdict });
  process.stdout.write(`\n== engine: dtrust engine vs notary list (${n} targets)\n${table(rows)}\n\n`);

  await ctx.writeResults('engine', {
    load: { before: loadBefore, after: loadAfter },
    targets: n,
    bytes: { targets: targetsBytes.length, snapshot: snapBytes.length, root: rootBytes.length, timestamp: tsBytes.length },
    setupMs: repo.setupMs,
    notaryList: {
      coldMs: cold.wallMs,
      warmMs,
      warmMedianMs: warmMedian,
      coldPeakRssKiB: cold.peakRssKiB,
      warmPeakRssKiB: warmPeak,
    },
    engine: {
      fullMs: full.samples,
      fullMedianMs: engineMedian,
      firstRunMs: full.warmupMs[0],
      stepsMedianMs: {
        rootLoadAndFresh: stepMedian(steps.root),
        updateTimestamp: stepMedian(steps.timestamp),
        updateSnapshot: stepMedian(steps.snapshot),
        updateTargets: stepMedian(steps.targets),
        listTargetSummaries: stepMedian(steps.list),
      },
      parseTargetsFileMedianMs: median(indexed.samples),
      fullParseMedianMs: median(fullParse.samples),
      hashMedianMs: median(hash.samples),
      verifyMedianMs: median(verify.samples),
    },
    ratioEngineToNotaryWarm: ratio,
    goalRatio: GOAL_RATIO,
    verdict,
  });
}
