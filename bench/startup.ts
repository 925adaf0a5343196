// Section `startup`: how long short commands take from exec to exit, against `node -e 0` (the
// floor of any Node CLI; goal: dtrust within 1.5x of it) and against the real notary.
//
//   dtrust version; dtrust key list (skipped with a note when the command does not exist);
//   dtrust list of a 10-target repository (warm cache, real notary-server on loopback);
//   dtrust addhash, offline (staging only; goal: dtrust's own share at most 0.2x node -e 0, so
//   within 1.2x of it; each run stages the same target once more).
//
// Each tool runs on its own copy of the publisher's trust dir (3 keys, metadata cached). Our own
// loop: 2 warm-up rounds, then BENCH_STARTUP_RUNS (20) rounds, every command once per round
// (round robin, so that a burst of load hits all alike); the median is compared. No /proc polling.
//
// A reference row, `node floor of list`, is a plain Node script doing only what any Node client
// must for `list`: load node:crypto, read the four cached files and GET the timestamp with
// node:http. It shows how much of list's time is Node's own, whatever the client does.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseEnv, NOTARY_BIN } from '../test/rig/notary.js';
import { envInt, loadNote, log, type BenchContext } from './context.js';
import { copyTrustDir } from './keys.js';
import { newSeat, toolBin, type Seat } from './measure.js';
import { runTimed } from './proc.js';
import { grid, median, ms, ratioText, verdict } from './stats.js';

interface Cmd {
  id: string;
  bin: string;
  args: string[];
  seat?: Seat;
  samples: number[];
}

const GOAL_VS_NODE = 1.5;
/** Commands compared with `node -e 0`, and their goals. */
const GOALS: [string, number][] = [
  ['version', GOAL_VS_NODE],
  ['key list', GOAL_VS_NODE],
  ['list (10 targets)', GOAL_VS_NODE],
  ['addhash (offline)', 1.2],
];

export async function runStartup(ctx: BenchContext): Promise<void> {
  const RUNS = envInt('BENCH_STARTUP_RUNS', 20);
  const loadBefore = loadNote();
  log(`startup: ${loadBefore}`);
  const server = await ctx.server();
  const repo = await ctx.repo(10);
  const seats = {
    dtrust: await newSeat(ctx, 'dtrust', server.url, 'startup'),
    notary: await newSeat(ctx, 'notary', server.url, 'startup'),
  };
  for (const s of Object.values(seats)) await copyTrustDir(repo.publisher.trustDir, s.trustDir);

  const run = async (c: Cmd): Promise<{ code: number; wallMs: number; stdout: string; stderr: string }> => {
    const env = c.seat ? baseEnv(c.seat.home) : { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    const r = await runTimed(c.bin, c.args, { env, cwd: c.seat?.home, timeoutMs: 60_000, pollMs: 0 });
    return r;
  };
  const global = (s: Seat): string[] => ['-s', s.serverUrl, '-d', s.trustDir];
  const floorScript = join(seats.dtrust.home, 'list-floor.cjs');
  await writeFile(floorScript, LIST_FLOOR);
  const metadataDir = join(seats.dtrust.trustDir, 'tuf', ...repo.gun.split('/'), 'metadata');
  const timestampUrl = `${server.url}/v2/${repo.gun}/_trust/tuf/timestamp.json`;
  const cmds: Cmd[] = [
    { id: 'node -e 0', bin: process.execPath, args: ['-e', '0'], samples: [] },
    { id: 'dtrust version', bin: toolBin('dtrust'), args: ['version'], seat: seats.dtrust, samples: [] },
    { id: 'notary version', bin: NOTARY_BIN, args: ['version'], seat: seats.notary, samples: [] },
    { id: 'dtrust key list', bin: toolBin('dtrust'), args: [...global(seats.dtrust), 'key', 'list'], seat: seats.dtrust, samples: [] },
    { id: 'notary key list', bin: NOTARY_BIN, args: [...global(seats.notary), 'key', 'list'], seat: seats.notary, samples: [] },
    { id: 'dtrust list (10 targets)', bin: toolBin('dtrust'), args: [...global(seats.dtrust), 'list', repo.gun], seat: seats.dtrust, samples: [] },
    { id: 'notary list (10 targets)', bin: NOTARY_BIN, args: [...global(seats.notary), 'list', repo.gun], seat: seats.notary, samples: [] },
    { id: 'dtrust addhash (offline)', bin: toolBin('dtrust'), args: [...global(seats.dtrust), 'addhash', STAGED_GUN, ...STAGED_TARGET], seat: seats.dtrust, samples: [] },
    { id: 'notary addhash (offline)', bin: NOTARY_BIN, args: [...global(seats.notary), 'addhash', STAGED_GUN, ...STAGED_TARGET], seat: seats.notary, samples: [] },
    // after dtrust's list, whose first run caches the timestamp this reads
    { id: 'node floor of list', bin: process.execPath, args: [floorScript, metadataDir, timestampUrl], samples: [] },
  ];
  const notes: string[] = [];

  // Check every command once (and warm the caches); drop `key list` when dtrust has no such command.
  for (const c of [...cmds]) {
    const r = await run(c);
    if (r.code === 0) continue;
    if (c.id === 'dtrust key list' && /unknown command/i.test(r.stdout + r.stderr)) {
      notes.push('dtrust key list: skipped, dtrust has no `key list` command yet');
      cmds.splice(cmds.indexOf(c), 1);
      cmds.splice(cmds.findIndex((x) => x.id === 'notary key list'), 1);
      continue;
    }
    throw new Error(`${c.id} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
  for (let round = -2; round < RUNS; round++) {
    if (round > 0 && ctx.timeLeftMs() < 60_000) {
      notes.push(`stopped after ${round} rounds (BENCH_DEADLINE_S)`);
      break;
    }
    for (const c of cmds) {
      const r = await run(c);
      if (r.code !== 0) throw new Error(`${c.id} exited ${r.code}\n${r.stderr}`);
      if (round >= 0) c.samples.push(r.wallMs);
    }
  }

  const med = (id: string): number | null => {
    const c = cmds.find((x) => x.id === id);
    return c && c.samples.length > 0 ? median(c.samples) : null;
  };
  const nodeMs = med('node -e 0')!;
  const rows: string[][] = [['node -e 0', ms(nodeMs), '1.00', '', '', '', '']];
  const out: Record<string, unknown> = { 'node -e 0': { medianMs: nodeMs, samplesMs: cmds[0]!.samples } };
  const floorMs = med('node floor of list')!;
  rows.push(['node floor of list', ms(floorMs), (floorMs / nodeMs).toFixed(2), '', '', '', '']);
  out['node floor of list'] = { medianMs: floorMs, samplesMs: cmds.find((x) => x.id === 'node floor of list')!.samples, vsNode: floorMs / nodeMs };
  for (const [id, goal] of GOALS) {
    const d = med(`dtrust ${id}`);
    const n = med(`notary ${id}`);
    if (d === null) continue;
    const vsNode = d / nodeMs;
    rows.push([`dtrust ${id}`, ms(d), vsNode.toFixed(2), `<= ${goal}`, verdict(vsNode, goal), ms(n), ratioText(n === null ? null : d / n)]);
    ctx.goals.push({ section: 'startup', what: `dtrust ${id} vs node -e 0`, value: `${vsNode.toFixed(2)}x (${ms(d)} vs ${ms(nodeMs)})`, goal: `<= ${goal}x`, verdict: verdict(vsNode, goal) as 'PASS' | 'MISS' });
    out[`dtrust ${id}`] = { medianMs: d, samplesMs: cmds.find((x) => x.id === `dtrust ${id}`)!.samples, vsNode, verdict: verdict(vsNode, goal) };
    out[`notary ${id}`] = { medianMs: n, samplesMs: cmds.find((x) => x.id === `notary ${id}`)!.samples, dtrustToNotary: n === null ? null : d / n };
  }
  const loadAfter = loadNote();
  process.stdout.write(
    `\n== startup: exec to exit, median of ${RUNS} runs (round robin after 2 warm-up rounds)\n` +
      grid(['command', 'median', 'x node -e 0', 'goal', 'verdict', 'notary', 'ratio dtrust/notary'], rows, [1, 2, 5]) +
      '\n' +
      notes.map((s) => `  note: ${s}\n`).join('') +
      `  load before: ${loadBefore}\n  load after:  ${loadAfter}\n\n`,
  );
  await ctx.writeResults('startup', { load: { before: loadBefore, after: loadAfter }, runs: RUNS, goalsVsNode: Object.fromEntries(GOALS), notes, commands: out });
}

const STAGED_GUN = 'example.com/bench/startup-staging';
const STAGED_TARGET = ['staged', '3', '--sha256', createHash('sha256').update('abc').digest('hex')];

/** argv: <metadata dir> <timestamp URL>. Exits 0 once the timestamp arrived. */
const LIST_FLOOR = `'use strict';
const crypto = require('node:crypto');
const { readFileSync } = require('node:fs');
const http = require('node:http');
const [dir, url] = process.argv.slice(2);
for (const role of ['root', 'timestamp', 'snapshot', 'targets']) crypto.createHash('sha256').update(readFileSync(dir + '/' + role + '.json')).digest();
http.get(url, (res) => {
  res.resume();
  res.on('end', () => { process.exitCode = res.statusCode === 200 ? 0 : 1; });
});
`;
