// Mutation testing of the verification core (issue 14; docs/testing.md, "Mutation testing").
//
// For each target file, every mutant of the functions listed is made from the TypeScript source
// (TypeScript's parser finds the operators), compiled with esbuild as the build compiles it, and
// written over that file's module in build/; the target's node:test files then run against it,
// one at a time, the quickest first, until one fails (the mutant is killed) or all pass (it
// survived). The original module is put back after each mutant (an interrupted run leaves a
// mutant in build/: `npm run build` puts it back).
//
// Mutators (as StrykerJS names them): EqualityOperator (=== !==, < <=, > >=), LogicalOperator
// (&& ||), ArithmeticOperator (+ -), BooleanLiteral (true false, !x -> x), ConditionalExpression
// (the condition of an if, a while or a ?: -> true and -> false), MethodExpression (some every,
// startsWith endsWith). Not mutated: the arguments of `new …Error(…)` and template literals
// (message text), and type-only code.
//
//   npm run mutate                    build, then every target
//   node scripts/mutate.mjs verify    only the targets whose file contains "verify" (after a build)
//   node scripts/mutate.mjs --count   how many mutants each target has
//   node scripts/mutate.mjs --again out.txt   only the mutants out.txt (an earlier run's output) lists as SURVIVED
//
// Property tests run with DTRUST_FUZZ_SEED=1 and DTRUST_FUZZ_RUNS=MUTATE_RUNS: every run of this
// script makes and judges the same mutants the same way.
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { transformSync } from 'esbuild';
import ts from 'typescript';

const MUTATE_RUNS = '150';
const TEST_TIMEOUT_MS = 120_000;

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const define = { DTRUST_VERSION: JSON.stringify(pkg.version), DTRUST_COMMIT: '""' };

/** A test file (under build/test, without .test.js) and, for property files, the properties to run. */
const T = (file, pattern) => ({ file, pattern });

const TUF = [T('tuf/checks'), T('tuf/builder-edges'), T('tuf/builder'), T('tuf/rotations'), T('tuf/fixtures'), T('tuf/walk'), T('tuf/pinning')];
const TUF_PROPS = [T('property/walk')];

/** The files mutated, the functions in them ('*': all), and the tests that judge them. */
const TARGETS = [
  { file: 'src/tuf/verify.ts', functions: ['*'], tests: [...TUF, ...TUF_PROPS] },
  {
    file: 'src/tuf/builder.ts',
    functions: [
      'loadRoot',
      'updateRoot',
      'finishRoot',
      'fastForwardRecovery',
      'updateTimestamp',
      'updateSnapshot',
      'updateTargets',
      'updateDelegation',
      'checkFloor',
      'checkExpiry',
      'verifyRootSignatures',
      'checkRootStructure',
      'checkDelegationsStructure',
      'capSize',
      'checkAgainst',
      'checkDigestLengths',
      'sameKeys',
    ],
    tests: [...TUF, ...TUF_PROPS],
  },
  { file: 'src/tuf/expires.ts', functions: ['isExpired'], tests: TUF },
  { file: 'src/tuf/rootcerts.ts', functions: ['*'], tests: [T('tuf/rootcerts'), T('tuf/pinning'), T('tuf/rotations'), T('tuf/builder'), T('tuf/fixtures'), T('crypto/x509chain')] },
  { file: 'src/tuf/roles.ts', functions: ['*'], tests: [...TUF, T('property/names', 'validators-agree'), T('property/walk')] },
  { file: 'src/tuf/gun.ts', functions: ['*'], tests: [T('storage/paths'), T('keystore/names'), T('property/names', 'validators-agree')] },
  { file: 'src/storage/paths.ts', functions: ['validateGun', 'validateRole', 'gunRelative', 'gunDir', 'roleFile'], tests: [T('storage/paths'), T('property/names', 'validators-agree')] },
  { file: 'src/keystore/names.ts', functions: ['*'], tests: [T('keystore/names'), T('property/names', 'validators-agree'), T('keystore/filestore'), T('keystore/importexport')] },
  { file: 'src/fs/atomic.ts', functions: ['*'], tests: [T('fs/atomic'), T('storage/atomic')] },
];

// ---------------------------------------------------------------------------------------------
// Mutants

const SWAP = new Map([
  [ts.SyntaxKind.EqualsEqualsEqualsToken, ['!==']],
  [ts.SyntaxKind.ExclamationEqualsEqualsToken, ['===']],
  [ts.SyntaxKind.LessThanToken, ['<=']],
  [ts.SyntaxKind.LessThanEqualsToken, ['<']],
  [ts.SyntaxKind.GreaterThanToken, ['>=']],
  [ts.SyntaxKind.GreaterThanEqualsToken, ['>']],
  [ts.SyntaxKind.AmpersandAmpersandToken, ['||']],
  [ts.SyntaxKind.BarBarToken, ['&&']],
  [ts.SyntaxKind.PlusToken, ['-']],
  [ts.SyntaxKind.MinusToken, ['+']],
]);
const METHODS = new Map([
  ['some', 'every'],
  ['every', 'some'],
  ['startsWith', 'endsWith'],
  ['endsWith', 'startsWith'],
]);

function functionName(node) {
  for (let n = node; n; n = n.parent) {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isGetAccessor(n)) && n.name) {
      // An arrow function or function expression inside a named function belongs to it.
      return n.name.getText();
    }
  }
  return undefined;
}

function excluded(node) {
  for (let n = node.parent; n; n = n.parent) {
    if (ts.isNewExpression(n) && /Error$/.test(n.expression.getText())) return true;
    if (ts.isTemplateExpression(n)) return true;
    if (ts.isTypeNode(n)) return true;
  }
  return false;
}

/** Every mutant of `source` inside the functions listed: { start, end, replacement, mutator }. */
function mutantsOf(file, source, functions) {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const out = [];
  const add = (node, start, end, replacement, mutator) => {
    const fn = functionName(node);
    if (!fn || (!functions.includes('*') && !functions.includes(fn))) return;
    if (excluded(node)) return;
    const { line, character } = sf.getLineAndCharacterOfPosition(start);
    out.push({ start, end, replacement, mutator, fn, line: line + 1, col: character + 1, original: source.slice(start, end) });
  };
  const condition = (node, expr) => {
    add(expr, expr.getStart(sf), expr.getEnd(), 'true', 'ConditionalExpression');
    add(expr, expr.getStart(sf), expr.getEnd(), 'false', 'ConditionalExpression');
  };
  const visit = (node) => {
    if (ts.isBinaryExpression(node) && SWAP.has(node.operatorToken.kind)) {
      const op = node.operatorToken;
      const isLogical = op.kind === ts.SyntaxKind.AmpersandAmpersandToken || op.kind === ts.SyntaxKind.BarBarToken;
      const isArith = op.kind === ts.SyntaxKind.PlusToken || op.kind === ts.SyntaxKind.MinusToken;
      for (const r of SWAP.get(op.kind)) add(node, op.getStart(sf), op.getEnd(), r, isLogical ? 'LogicalOperator' : isArith ? 'ArithmeticOperator' : 'EqualityOperator');
    }
    if (node.kind === ts.SyntaxKind.TrueKeyword) add(node, node.getStart(sf), node.getEnd(), 'false', 'BooleanLiteral');
    if (node.kind === ts.SyntaxKind.FalseKeyword) add(node, node.getStart(sf), node.getEnd(), 'true', 'BooleanLiteral');
    if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) {
      add(node, node.getStart(sf), node.operand.getStart(sf), '', 'BooleanLiteral');
    }
    if (ts.isIfStatement(node) || ts.isWhileStatement(node)) condition(node, node.expression);
    if (ts.isConditionalExpression(node)) condition(node, node.condition);
    if (ts.isPropertyAccessExpression(node) && METHODS.has(node.name.text) && node.parent && ts.isCallExpression(node.parent)) {
      add(node, node.name.getStart(sf), node.name.getEnd(), METHODS.get(node.name.text), 'MethodExpression');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running

function compile(file, source) {
  return transformSync(source, { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcefile: file, define }).code;
}

/** Runs the tests quickest first; the first that fails kills the mutant. */
function judge(tests) {
  for (const t of tests) {
    const args = ['--test', `build/test/${t.file}.test.js`];
    if (t.pattern) args.splice(1, 0, `--test-name-pattern=${t.pattern}`);
    const r = spawnSync(process.execPath, args, {
      env: { ...process.env, DTRUST_FUZZ_SEED: '1', DTRUST_FUZZ_RUNS: MUTATE_RUNS },
      stdio: 'ignore',
      timeout: TEST_TIMEOUT_MS,
    });
    if (r.status !== 0) return { killed: true, by: t.file + (r.signal ? ' (timeout)' : '') };
  }
  return { killed: false };
}

const args = process.argv.slice(2);
const countOnly = args.includes('--count');
// --again <output of an earlier run>: only the mutants that survived it (after new tests).
const againAt = args.indexOf('--again');
const again = againAt >= 0 ? new Set([...readFileSync(args[againAt + 1], 'utf8').matchAll(/^SURVIVED (.*)$/gm)].map((m) => m[1])) : undefined;
const filter = args.filter((a, i) => a !== '--count' && (againAt < 0 || (i !== againAt && i !== againAt + 1)));
const targets = TARGETS.filter((t) => filter.length === 0 || filter.some((f) => t.file.includes(f)));

let killed = 0;
let total = 0;
const survivors = [];
for (const target of targets) {
  const built = target.file.replace(/^src\//, 'build/src/').replace(/\.ts$/, '.js');
  const original = readFileSync(built, 'utf8');
  const source = readFileSync(target.file, 'utf8');
  const where = (m) => `${target.file}:${m.line}:${m.col} ${m.fn} ${m.mutator} ${JSON.stringify(m.original)} -> ${JSON.stringify(m.replacement)}`;
  const mutants = mutantsOf(target.file, source, target.functions).filter((m) => !again || again.has(where(m)));
  if (countOnly) {
    console.log(`${target.file}: ${mutants.length} mutants`);
    continue;
  }
  if (mutants.length === 0) continue;
  const base = judge(target.tests);
  if (base.killed) {
    console.error(`${target.file}: ${base.by} fails without any mutant; run npm run build and fix it first`);
    process.exit(1);
  }
  let fileKilled = 0;
  try {
    for (const m of mutants) {
      const mutated = source.slice(0, m.start) + m.replacement + source.slice(m.end);
      let code;
      try {
        code = compile(target.file, mutated);
      } catch {
        continue; // a mutant that does not compile is not a mutant
      }
      writeFileSync(built, code);
      const r = judge(target.tests);
      total++;
      if (r.killed) {
        killed++;
        fileKilled++;
        console.log(`killed   ${where(m)} (by ${r.by})`);
      } else {
        survivors.push(where(m));
        console.log(`SURVIVED ${where(m)}`);
      }
    }
  } finally {
    writeFileSync(built, original);
  }
  console.log(`# ${target.file}: ${fileKilled} of ${mutants.length} mutants killed`);
}
console.log(`\n# survivors (${survivors.length}):`);
for (const s of survivors) console.log(`#   ${s}`);
console.log(`# mutation score: ${killed} of ${total} killed, ${total === 0 ? 'n/a' : ((100 * killed) / total).toFixed(1)}%`);
