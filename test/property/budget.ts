// How many runs each property gets, in one place, and the node:test wrapper that runs them.
//
// `npm test` (CI) runs each property BUDGET[id] times. `npm run fuzz` sets DTRUST_FUZZ_RUNS
// (100000) for every property. Each run has a fresh random seed; a failure prints the seed, the
// path and the shrunk counterexample (fast-check's report), and is replayed with
//   DTRUST_FUZZ_SEED=<seed> DTRUST_FUZZ_PATH=<path> node --test --test-name-pattern='<id>' build/test/property/<file>.test.js
// (docs/testing.md, "Property and fuzz tests").
import { test } from 'node:test';
import fc from 'fast-check';

/**
 * CI runs per property: the parser properties together take about 22 s of CPU and 23 s of wall
 * time (two files at a time) on the development machine (2 cores, load 8-9), the builder and walk
 * properties about 9 s of CPU more; docs/testing.md has the list.
 */
export const BUDGET = {
  'canonical/random-values-scan-as-parsed': 6000,
  'canonical/mutated-bytes-scan-as-parsed': 10000,
  'canonical/serialise-parse-stable': 10000,
  'envelope/fast-path-agrees-with-general-path': 4000,
  'envelope/random-notary-files': 1200,
  'envelope/mutated-notary-files': 8000,
  'envelope/signed-version-as-parsed': 8000,
  'envelope/one-mebibyte-bounded-time': 20,
  'keys/pem-round-trip': 6000,
  'keys/mutated-pem-text': 6000,
  'keys/mutated-key-files': 1600,
  'keys/mutated-pkcs8-der': 5000,
  'keys/mutated-encrypted-pkcs8-der': 10000,
  'keys/der-integer-oid-round-trip': 10000,
  'keys/mutated-certificates': 10000,
  'keys/linear-time': 30,
  'changelist/round-trip': 10000,
  'changelist/mutated-notary-change-files': 10000,
  'changelist/linear-time': 100,
  'config/go-syntax-check-agrees-with-json': 10000,
  'config/notary-config-files': 1200,
  'config/docker-config-files': 800,
  'config/linear-time': 40,
  'auth/challenge-round-trip': 10000,
  'auth/any-header': 10000,
  'auth/linear-time': 40,
  'reference/valid-references-round-trip': 10000,
  'reference/any-string': 10000,
  'reference/linear-time': 200,
  'names/validators-agree': 10000,
  'names/linear-time': 100,
  'builder/mutated-notary-repositories': 500,
  'builder/resigned-mutated-repositories': 400,
  'builder/one-mebibyte-bounded-time': 5,
  'walk/delegation-trees-as-the-model': 200,
  'stage-args/read-as-commander-reads': 3000,
} as const satisfies Record<string, number>;

export type PropertyId = keyof typeof BUDGET;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

const FUZZ_RUNS = envInt('DTRUST_FUZZ_RUNS');
const SEED = envInt('DTRUST_FUZZ_SEED');
const PATH = process.env['DTRUST_FUZZ_PATH'] || undefined;

/**
 * Properties each run of which is a time measurement on inputs of 1 MiB or 10^5 to 10^6 units
 * (up to a second a run): DTRUST_FUZZ_RUNS gives them at most 10 times their CI runs, since
 * 100,000 runs would take a day each.
 */
const TIMED: ReadonlySet<PropertyId> = new Set<PropertyId>([
  'envelope/one-mebibyte-bounded-time',
  'keys/linear-time',
  'changelist/linear-time',
  'config/linear-time',
  'auth/linear-time',
  'reference/linear-time',
  'names/linear-time',
  'builder/one-mebibyte-bounded-time',
]);

export function runsFor(id: PropertyId): number {
  if (FUZZ_RUNS === undefined) return BUDGET[id];
  return TIMED.has(id) ? Math.min(FUZZ_RUNS, 10 * BUDGET[id]) : FUZZ_RUNS;
}

function parameters<Ts>(id: PropertyId): fc.Parameters<Ts> {
  const p: fc.Parameters<Ts> = { numRuns: runsFor(id), includeErrorInReport: true };
  if (SEED !== undefined) p.seed = SEED;
  if (PATH !== undefined) {
    p.path = PATH;
    p.endOnFailure = true;
  }
  return p;
}

/**
 * One node:test test per property, named by its id. The diagnostic line gives the runs and the
 * CPU time they took (what the budget above is set from).
 */
export function property<Ts>(id: PropertyId, prop: fc.IRawProperty<Ts>): void {
  test(id, async (t) => {
    const start = process.cpuUsage();
    await fc.assert(prop, parameters<Ts>(id));
    const used = process.cpuUsage(start);
    t.diagnostic(`${id}: ${runsFor(id)} runs, ${Math.round((used.user + used.system) / 1000)} ms CPU`);
  });
}
