// `npm run bench`: the real notary 0.7 `list` against dtrust's verification engine on one large
// repository served by the real notary-server.
//
//   1. start notary-server (test rig), `notary init`, stage N targets by writing changelist files
//      exactly as `notary addhash` does (checked byte for byte against one real addhash), then one
//      real `notary publish`;
//   2. time `notary list` in a fresh trust dir (cold) and 3 more times (warm cache);
//   3. time TrustedCollectionBuilder in-process on the same downloaded bytes (median of 5);
//   4. print a table and write .bench/results-engine.json.
//
// Env: BENCH_TARGETS (default 100000), BENCH_DEADLINE_S (default 2400: hard stop of the whole run).
// Exit 0 whatever the verdict (a benchmark, not a test); non-zero only when the bench itself fails.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startNotaryServer, type NotaryServer } from '../test/rig/server.js';
import { NOTARY_BIN, NotaryClient, REPO_ROOT, baseEnv, describeFailure } from '../test/rig/notary.js';
import { removeTempDir } from '../test/rig/tmp.js';
import { TrustedCollectionBuilder, checkAgainst } from '../src/tuf/builder.js';
import { parseEnvelope } from '../src/tuf/envelope.js';
import { parseTargets } from '../src/tuf/metadata.js';
import { verifyThreshold } from '../src/tuf/verify.js';
import { addhashChange, changelistDir, writeAddhashChanges, type HashTarget } from './changelist.js';
import { runTimed, type TimedRun } from './proc.js';
import { bytes, kib, median, ms, table, timeSync } from './stats.js';
import { makeFastTempDir, removeFastTempDir } from './tmp.js';

const GOAL_RATIO = 0.2;
const WARM_RUNS = 3;
const ENGINE_RUNS = 5;
const GUN = 'example.com/bench/engine';

function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name}=${raw}: expected a positive integer`);
  return n;
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function makeTargets(n: number): HashTarget[] {
  const width = Math.max(6, String(n).length);
  const hashes = randomBytes(96 * n);
  const out: HashTarget[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      name: `target-${String(i + 1).padStart(width, '0')}`,
      // sizes spread over 10 B … 1 GB
      length: Math.floor(10 ** (1 + 8 * Math.random())),
      sha256: hashes.subarray(96 * i, 96 * i + 32),
      sha512: hashes.subarray(96 * i + 32, 96 * i + 96),
    });
  }
  return out;
}

/** One real `notary addhash`, to prove the generated change files are what notary writes. */
async function checkAgainstRealAddhash(client: NotaryClient, t: HashTarget): Promise<void> {
  const dir = changelistDir(client.trustDir, GUN);
  await client.runOk([
    'addhash', GUN, t.name, String(t.length),
    '--sha256', t.sha256.toString('hex'),
    '--sha512', t.sha512.toString('hex'),
  ]);
  const files = await readdir(dir);
  if (files.length !== 1) throw new Error(`expected 1 change file after addhash, found ${files.length}: ${files.join(', ')}`);
  const name = files[0]!;
  if (!/^\d{20}_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.change$/.test(name)) {
    throw new Error(`unexpected change file name from notary: ${name}`);
  }
  const st = await stat(join(dir, name));
  if ((st.mode & 0o777) !== 0o600) throw new Error(`notary's change file has mode ${(st.mode & 0o777).toString(8)}`);
  const real = await readFile(join(dir, name), 'utf8');
  const ours = addhashChange(t);
  if (real !== ours) throw new Error(`generated change differs from notary's:\n notary: ${real}\n ours:   ${ours}`);
}

async function fetchBytes(url: string): Promise<Buffer> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
  return Buffer.from(await r.arrayBuffer());
}

function countListRows(stdout: string): number {
  let n = 0;
  for (const line of stdout.split('\n')) if (/\stargets\s*$/.test(line)) n++;
  return n;
}

async function notaryList(client: NotaryClient, server: NotaryServer, expected: number): Promise<TimedRun> {
  const r = await runTimed(NOTARY_BIN, ['-s', server.url, '-d', client.trustDir, 'list', GUN], {
    env: baseEnv(client.home),
    cwd: client.home,
    timeoutMs: 300_000,
  });
  if (r.code !== 0) throw new Error(describeFailure('notary', ['list', GUN], r));
  const rows = countListRows(r.stdout);
  if (rows !== expected) throw new Error(`notary list printed ${rows} target rows, expected ${expected}`);
  return r;
}

async function main(): Promise<number> {
  const n = envInt('BENCH_TARGETS', 100_000);
  const deadlineS = envInt('BENCH_DEADLINE_S', 2_400);
  const watchdog = setTimeout(() => {
    // The rig's exit hooks SIGKILL the server and remove the temp dirs.
    log(`FAILED: still running after ${deadlineS} s (BENCH_DEADLINE_S), giving up`);
    process.exit(3);
  }, deadlineS * 1000);
  watchdog.unref();

  log(`starting notary-server; repository of ${n} targets`);
  const server = await startNotaryServer();
  const clients: NotaryClient[] = [];
  const fastDirs: string[] = [];
  try {
    // ---------------------------------------------------------------------------------- setup
    // The publisher's HOME (and so its changelist) lives on tmpfs when available: staging 100k
    // files is then disk-independent. The reader below keeps an ordinary on-disk trust dir.
    const publisherHome = await makeFastTempDir('dtrust-bench-publisher-');
    fastDirs.push(publisherHome);
    const publisher = await NotaryClient.create({ serverUrl: server.url, home: publisherHome });
    let t0 = performance.now();
    await publisher.runOk(['init', GUN]);
    const initMs = performance.now() - t0;

    const targets = makeTargets(n);
    await checkAgainstRealAddhash(publisher, targets[0]!);
    t0 = performance.now();
    await writeAddhashChanges(publisher.trustDir, GUN, targets.slice(1));
    const stageMs = performance.now() - t0;
    const staged = (await readdir(changelistDir(publisher.trustDir, GUN))).length;
    if (staged !== n) throw new Error(`changelist holds ${staged} files, expected ${n}`);
    log(`init ${ms(initMs)}; ${n} changes staged in ${ms(stageMs)} under ${publisherHome}; publishing (can take a while)`);

    t0 = performance.now();
    await publisher.runOk(['publish', GUN], { timeoutMs: 600_000 });
    const publishMs = performance.now() - t0;
    const left = (await readdir(changelistDir(publisher.trustDir, GUN))).length;
    if (left !== 0) throw new Error(`changelist not emptied by publish (${left} files left)`);
    log(`published in ${ms(publishMs)}`);

    // ---------------------------------------------------------------------------- notary list
    const reader = await NotaryClient.create({ serverUrl: server.url });
    clients.push(reader);
    const cold = await notaryList(reader, server, n);
    log(`notary list cold ${ms(cold.wallMs)}`);
    const warm: TimedRun[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warm.push(await notaryList(reader, server, n));
    const warmMs = warm.map((r) => r.wallMs);
    const warmMedian = median(warmMs);
    const warmPeaks = warm.map((r) => r.peakRssKiB).filter((v): v is number => v !== null);
    const warmPeak = warmPeaks.length > 0 ? Math.max(...warmPeaks) : null;
    log(`notary list warm ${warmMs.map((v) => ms(v)).join(', ')}`);

    // ---------------------------------------------------------------------------- engine
    const base = `${server.url}/v2/${GUN}/_trust/tuf`;
    const rootBytes = await fetchBytes(`${base}/root.json`);
    const tsBytes = await fetchBytes(`${base}/timestamp.json`);
    const probe = new TrustedCollectionBuilder({ gun: GUN, now: Date.now() });
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
      const b = new TrustedCollectionBuilder({ gun: GUN, now: Date.now() });
      b.loadRoot(rootBytes, 'remote');
      b.checkRootFresh();
      lap(steps.root);
      b.updateTimestamp(tsBytes);
      lap(steps.timestamp);
      b.updateSnapshot(snapBytes);
      lap(steps.snapshot);
      b.updateTargets(targetsBytes);
      lap(steps.targets);
      const listed = b.listTargets();
      lap(steps.list);
      if (listed.length !== n) throw new Error(`engine listed ${listed.length} targets, expected ${n}`);
    };
    const full = timeSync(fullRun, ENGINE_RUNS, 1);
    const stepMedian = (xs: number[]): number => median(xs.slice(-ENGINE_RUNS));
    const engineMedian = median(full.samples);
    log(`engine ${full.samples.map((v) => ms(v)).join(', ')} (warm-up ${ms(full.warmupMs[0])})`);

    // Phases of the targets file alone (the bulk of the work).
    const rootMeta = probe.root!.meta;
    const env = parseEnvelope(targetsBytes, 'targets');
    const parseEnv = timeSync(() => void parseEnvelope(targetsBytes, 'targets'), ENGINE_RUNS, 1);
    const parseModel = timeSync(() => void parseTargets(env.signed, 'targets'), ENGINE_RUNS, 1);
    const hash = timeSync(() => checkAgainst('targets', targetsBytes, targetsMeta), ENGINE_RUNS, 1);
    const verify = timeSync(
      () => void verifyThreshold(env, 'targets', rootMeta.keys, rootMeta.roles.get('targets')!),
      ENGINE_RUNS,
      1,
    );

    // ---------------------------------------------------------------------------- report
    const ratio = engineMedian / warmMedian;
    const verdict = ratio <= GOAL_RATIO ? 'PASS' : 'MISS';
    const rows: Array<readonly [string, string]> = [
      ['targets', String(n)],
      ['targets.json', bytes(targetsBytes.length)],
      ['snapshot.json / root.json', `${bytes(snapBytes.length)} / ${bytes(rootBytes.length)}`],
      ['setup: init / stage / publish', `${ms(initMs)} / ${ms(stageMs)} / ${ms(publishMs)}`],
      ['notary list, cold', `${ms(cold.wallMs)}   peak RSS ${kib(cold.peakRssKiB)}`],
      ['notary list, warm (median of 3)', `${ms(warmMedian)}   [${warmMs.map((v) => ms(v)).join(', ')}]   peak RSS ${kib(warmPeak)}`],
      ['dtrust engine, full (median of 5)', `${ms(engineMedian)}   [${full.samples.map((v) => ms(v)).join(', ')}]   first run ${ms(full.warmupMs[0])}`],
      ['  root (load + fresh) / timestamp / snapshot', `${ms(stepMedian(steps.root))} / ${ms(stepMedian(steps.timestamp))} / ${ms(stepMedian(steps.snapshot))}`],
      ['  updateTargets / listTargets', `${ms(stepMedian(steps.targets))} / ${ms(stepMedian(steps.list))}`],
      ['  targets alone: parseEnvelope', ms(median(parseEnv.samples))],
      ['  targets alone: parseTargets(signed)', ms(median(parseModel.samples))],
      ['  targets alone: sha256+sha512 check', ms(median(hash.samples))],
      ['  targets alone: signature verify', ms(median(verify.samples))],
      ['ratio engine / notary warm', `${ratio.toFixed(3)}  (${(1 / ratio).toFixed(1)}x faster)`],
      [`goal ratio <= ${GOAL_RATIO}`, verdict],
    ];
    process.stdout.write(`\ndtrust engine vs notary list (${n} targets)\n${table(rows)}\n\n`);

    const results = {
      bench: 'engine',
      date: new Date().toISOString(),
      host: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '' },
      targets: n,
      bytes: { targets: targetsBytes.length, snapshot: snapBytes.length, root: rootBytes.length, timestamp: tsBytes.length },
      setupMs: { init: initMs, stage: stageMs, publish: publishMs },
      notaryList: {
        coldMs: cold.wallMs,
        warmMs: warmMs,
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
          listTargets: stepMedian(steps.list),
        },
        parseEnvelopeMedianMs: median(parseEnv.samples),
        parseTargetsMedianMs: median(parseModel.samples),
        hashMedianMs: median(hash.samples),
        verifyMedianMs: median(verify.samples),
      },
      ratioEngineToNotaryWarm: ratio,
      goalRatio: GOAL_RATIO,
      verdict,
    };
    const outDir = join(REPO_ROOT, '.bench');
    await mkdir(outDir, { recursive: true });
    const outFile = join(outDir, 'results-engine.json');
    await writeFile(outFile, JSON.stringify(results, null, 2) + '\n');
    log(`results written to ${outFile}`);
    return 0;
  } finally {
    await server.stop().catch((e: unknown) => log(`stopping notary-server: ${(e as Error).message}`));
    for (const c of clients) await removeTempDir(c.home).catch(() => undefined);
    for (const d of fastDirs) await removeFastTempDir(d).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
