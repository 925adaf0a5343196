// `npm run bench`: dtrust against the real notary 0.7 on repositories served by the real
// notary-server. Sections (BENCH_ONLY=engine,commands,delegations,startup,staging; default all, always run
// in this order):
//
//   engine       dtrust's verification engine in-process vs `notary list` (engine.ts)
//   commands     whole CLI commands: list, lookup, verify, add -p (commands.ts, issue 4 goals)
//   delegations  list of 10/100/1000 delegated roles through a 20 ms proxy (delegations.ts, issue 5)
//   startup      version, key list, list of 10 targets, addhash vs `node -e 0` (startup.ts)
//   staging      500 targets staged one addhash at a time (dtrust vs notary) and in one
//                addhash --from (dtrust) vs notary's loop (staging.ts)
//
// Each section prints a table (PASS/MISS against its goals) and writes .bench/results-<section>.json.
//
// Env: BENCH_ONLY; BENCH_COMMANDS (list,lookup,verify,add: parts of `commands`); BENCH_TARGETS (default 100000: the large repository); BENCH_ROLES (default
// 10,100,1000); BENCH_RUNS (timed runs per measurement, default 5); BENCH_COLD_RUNS (cold runs in
// delegations, default 3); BENCH_STARTUP_RUNS (default 20); BENCH_VERIFY_MB (default 100);
// BENCH_STAGE_TARGETS (default 500), BENCH_STAGE_BATCHES (default 5);
// BENCH_DEADLINE_S (default 3600: long series stop early as it nears; the run is killed at it).
// Exit 0 whatever the verdicts (a benchmark, not a test); non-zero only when the bench breaks.
import { BenchContext, envInt, loadNote, log } from './context.js';
import { runCommands } from './commands.js';
import { runDelegations } from './delegations.js';
import { runEngine } from './engine.js';
import { runStaging } from './staging.js';
import { runStartup } from './startup.js';
import { grid, ms } from './stats.js';
import { performance } from 'node:perf_hooks';

const SECTIONS = {
  engine: runEngine,
  commands: runCommands,
  delegations: runDelegations,
  startup: runStartup,
  staging: runStaging,
} as const;
type Section = keyof typeof SECTIONS;

function selected(): Section[] {
  const raw = process.env['BENCH_ONLY'];
  const all = Object.keys(SECTIONS) as Section[];
  if (raw === undefined || raw.trim() === '') return all;
  const want = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = want.filter((s) => !(s in SECTIONS));
  if (bad.length > 0) throw new Error(`BENCH_ONLY=${raw}: unknown section ${bad.join(', ')} (known: ${all.join(', ')})`);
  return all.filter((s) => want.includes(s));
}

async function main(): Promise<number> {
  const sections = selected();
  const deadlineS = envInt('BENCH_DEADLINE_S', 3_600);
  const watchdog = setTimeout(() => {
    // Exit hooks SIGKILL the server and the running CLI, and remove the temp dirs.
    log(`FAILED: still running after ${deadlineS} s (BENCH_DEADLINE_S), giving up`);
    process.exit(3);
  }, deadlineS * 1000);
  watchdog.unref();
  log(`sections: ${sections.join(', ')}; ${loadNote()}`);
  const ctx = new BenchContext(deadlineS);
  const failed: string[] = [];
  try {
    for (const s of sections) {
      const t0 = performance.now();
      log(`== ${s}`);
      try {
        await SECTIONS[s](ctx);
        log(`== ${s} done in ${ms(performance.now() - t0)}`);
      } catch (err) {
        failed.push(s);
        log(`FAILED section ${s}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
  } finally {
    await ctx.close();
  }
  if (ctx.goals.length > 0) {
    const rows = ctx.goals.map((g) => [g.section, g.what, g.value, g.goal, g.verdict]);
    process.stdout.write(`== summary of goals (${loadNote()})\n${grid(['section', 'measurement', 'value', 'goal', 'verdict'], rows)}\n\n`);
  }
  if (failed.length > 0) {
    log(`FAILED: section(s) ${failed.join(', ')} broke (see above)`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
