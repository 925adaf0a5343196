// `key list|generate|import|export|remove|passwd` with notary's syntax, flags and output
// (cli.md §9.13-9.19, §1.2) and its key quirks fixed (cli.md §12 items 1, 3-8, 23-25, 27).
// The work on the key stores is in client/keyring.ts, opened by cli/keys.ts; `key rotate` is
// declared in rotate.ts. Only commander and the App are loaded at start-up: the key store,
// crypto and the prompt load inside the actions.

import type { Command } from 'commander';
import * as fsp from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { App, Ctx } from '../app.js';
import { group } from '../app.js';
import { CliError, UsageError } from '../errors.js';
import { NOT_A_DIRECTORY_HINT } from '../../fs/errno.js';
import { shellLine } from '../../shellwords.js';
import type { KeyFiles, TokenAccess } from '../keys.js';

/** Variable for the new passphrase of `key passwd` (never the role's variable: §12 item 24). */
export const NEW_PASSPHRASE_VARIABLE = 'DTRUST_NEW_PASSPHRASE';

const MAX_IMPORT_FILE_SIZE = 10 * 1024 * 1024;
const ALGORITHMS = ['ecdsa', 'ed25519', 'rsa'] as const;

function collect(value: string, previous: string[]): string[] {
  // pflag StringSlice: repeated flags and comma-separated values both add entries.
  return previous.concat(value.split(',').filter((v) => v !== ''));
}

/**
 * The `key` command group, created on first use: `key rotate` (client workflows) registers under
 * the same group through this function.
 */
export function keyGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'key') ?? group(program, 'key', 'Operates on keys.');
}

/** One piece on purpose: the `key` subcommands' declarations, in the order notary's help lists them. */
export function registerKey(program: Command, app: App): void {
  const key = keyGroup(program);

  key
    .command('list')
    .description('Lists keys.')
    .usage('[flags]')
    .allowExcessArguments(true)
    .option('--json', 'Print the keys as a JSON array')
    .action(
      app.action(async (ctx) => {
        const args = ctx.cmd.args;
        if (args.length > 0) throw new UsageError('');
        await keyList(ctx);
      }),
    );

  const generate = key
    .command('generate')
    .description('Generates a new key with a given algorithm.')
    .usage('[ algorithm ] [flags]')
    .allowExcessArguments(true)
    .option('-o, --output <string>', 'Filepath to write export output to')
    .option('-r, --role <string>', 'Role to generate key with, defaulting to "root".', 'root');
  // Run as notary, `key generate` is notary's verb only (docker's is `trust key generate`).
  if (app.program === 'dtrust') generate.option('--dir <dir>', 'With a signer NAME (docker trust key generate): directory to write NAME.pub in, defaults to current directory');
  generate.action(
    app.action(async (ctx) => {
      const args = ctx.cmd.args;
      if (args.length > 1) throw new UsageError('Please provide only one Algorithm as an argument to generate (rsa, ecdsa)');
      const dir = (ctx.cmd.opts() as { dir?: string }).dir;
      const given = (name: string): boolean => ctx.cmd.getOptionValueSource(name) === 'cli';
      const { keyGenerateVerb } = await import('../../docker/keygen.js');
      const verb = keyGenerateVerb({ program: app.program, arg: args[0], notaryFlags: given('output') || given('role'), dockerFlags: dir !== undefined });
      if (verb === 'docker') return (await import('./docker-run.js')).keyGenerate(ctx, args);
      await keyGenerate(ctx, args[0]);
    }),
  );

  key
    .command('remove')
    .description('Removes the key with the given keyID.')
    .usage('[ keyID ] [flags]')
    .option('-y, --yes', 'Remove the key without asking for confirmation (beyond notary)')
    .allowExcessArguments(true)
    .action(
      app.action(async (ctx) => {
        const args = ctx.cmd.args;
        if (args.length < 1) throw new UsageError('must specify the key ID of the key to remove');
        await keyRemove(ctx, args[0]!);
      }),
    );

  key
    .command('passwd')
    .description('Changes the passphrase for the key with the given keyID.')
    .usage('[ keyID ] [flags]')
    .allowExcessArguments(true)
    .action(
      app.action(async (ctx) => {
        const args = ctx.cmd.args;
        if (args.length < 1) throw new UsageError('must specify the key ID of the key to change the passphrase of');
        await keyPasswd(ctx, args[0]!);
      }),
    );

  key
    .command('import')
    .description('Imports all keys from all provided .pem files')
    .usage('pemfile [ pemfile ... ] [flags]')
    .allowExcessArguments(true)
    .option('-r, --role <string>', 'Role to import key with, if a role is not already given in a PEM header')
    .option('-g, --gun <string>', 'Gun to import key with, if a gun is not already given in a PEM header')
    .action(
      app.action(async (ctx) => {
        const args = ctx.cmd.args;
        if (args.length < 1) throw new UsageError('must specify at least one input file to import keys from');
        await keyImport(ctx, args);
      }),
    );

  key
    .command('export')
    .description('Exports all keys from all local keystores. Can be filtered using the --key and --gun flags.')
    .usage('[flags]')
    .allowExcessArguments(true)
    .option('--gun <strings>', 'GUNs for which to export keys', collect, [])
    .option('--key <strings>', 'Key IDs to export', collect, [])
    .option('-o, --output <string>', 'Filepath to write export output to')
    .option('--public', 'Export the public keys (PUBLIC KEY PEM), as delegation add takes them; asks for each key\'s passphrase (beyond notary)')
    .action(
      app.action(async (ctx) => {
        const args = ctx.cmd.args;
        if (args.length > 0) throw new UsageError('export does not take any positional arguments');
        await keyExport(ctx);
      }),
    );
}

// ---------------------------------------------------------------------------------------------
// Shared set-up (loaded lazily)

const keyring = () => import('../../client/keyring.js');
const keys = () => import('../keys.js');

/** The PKCS#11 token (root keys only), when a module is configured or found (cli/keys.ts). */
async function openToken(ctx: Ctx, files: KeyFiles): Promise<TokenAccess> {
  return (await keys()).openTokenStore(ctx, files.store, files.prompt);
}

function absolute(ctx: Ctx, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.app.cwd, p);
}

// ---------------------------------------------------------------------------------------------
// key list

async function keyList(ctx: Ctx): Promise<void> {
  const json = ctx.cmd.opts()['json'] === true;
  const files = await (await keys()).openKeyFiles(ctx);
  const token = await openToken(ctx, files);
  const records = await (await keyring()).listKeys(token.store, files.store);
  const out = ctx.app.output;
  if (json) {
    out.out(JSON.stringify(records.map((r) => ({ role: r.role, gun: r.gun, keyId: r.id, location: r.location })), null, 2) + '\n');
    return;
  }
  const { formatTable, truncateLeft } = await import('../table.js');
  out.out('\n');
  if (records.length === 0) out.out('No signing keys found.\n');
  else {
    out.out(
      formatTable(
        ['ROLE', 'GUN', 'KEY ID', 'LOCATION'],
        records.map((r) => [r.role, truncateLeft(r.gun, 25), r.id, truncateLeft(r.location, 40)]),
      ),
    );
  }
  out.out('\n');
}

// ---------------------------------------------------------------------------------------------
// key generate

async function keyGenerate(ctx: Ctx, algorithmArg: string | undefined): Promise<void> {
  const algorithm = (algorithmArg ?? 'ecdsa').toLowerCase();
  if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
    const docker = ctx.app.program === 'dtrust' ? `; a docker signer key is made with: dtrust trust key generate NAME` : '';
    throw new CliError('INVALID_ALGORITHM', 'Algorithm not allowed, possible values are: ECDSA, ED25519, RSA', { hint: `dtrust generates ecdsa (P-256, the default), ed25519 and rsa (3072-bit) keys${docker}` });
  }
  const opts = ctx.cmd.opts() as { output?: string; role: string };
  const kr = await keyring();
  const role = kr.validateRole(opts.role);
  if (algorithm === 'ed25519' && role === 'root') {
    throw new CliError(
      'UNSUPPORTED_KEY',
      'ed25519 keys cannot be root keys',
      { hint: 'a root key is published inside an X.509 certificate, which notary and dtrust make only for ecdsa and rsa keys: use ecdsa' },);
  }
  const alg = algorithm as (typeof ALGORITHMS)[number];
  if (opts.output === undefined || opts.output === '') {
    const files = await (await keys()).openKeyFiles(ctx);
    const { withProgress } = await import('../progress.js');
    const rec = await withProgress(`Encrypting the ${role} key...`, () =>
      kr.generateKey({
        files: files.store,
        rootToken: async () => {
          const token = await openToken(ctx, files);
          (await keys()).requireToken(token);
          return token.store;
        },
        role,
        algorithm: alg,
      }),
    );
    ctx.app.output.out(`Generated new ${alg} ${role} key with keyID: ${rec.id}\n`);
    return;
  }
  await generateToFiles(ctx, alg, role, opts.output);
}

/** `-o P`: P-key.pem (encrypted, role header) and P.pem (PUBLIC KEY), nothing in the store. */
async function generateToFiles(ctx: Ctx, alg: (typeof ALGORITHMS)[number], role: string, prefix: string): Promise<void> {
  await ctx.config();
  const [kr, { TerminalPrompt }] = await Promise.all([keyring(), import('../prompt.js')]);
  const privPath = absolute(ctx, `${prefix}-key.pem`);
  const pubPath = absolute(ctx, `${prefix}.pem`);
  const dir = dirname(privPath);
  try {
    if (!(await fsp.stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new CliError('NO_DIRECTORY', `open ${prefix}-key.pem: no such file or directory`, { hint: `create the directory ${dir} first` });
  }
  for (const p of [privPath, pubPath]) {
    try {
      await fsp.lstat(p);
    } catch {
      continue;
    }
    throw new CliError('FILE_EXISTS', `${p} already exists`, { hint: 'dtrust does not overwrite key files: choose another --output prefix or move the file away' });
  }
  const id = await kr.generateKeyFiles({ algorithm: alg, role, privPath, pubPath, env: ctx.app.env, prompt: new TerminalPrompt() });
  ctx.app.output.out(`Generated new ${alg} ${role} key with keyID: ${id}\nPrivate key: ${privPath}\nPublic key: ${pubPath}\n`);
}

// ---------------------------------------------------------------------------------------------
// key import

async function keyImport(ctx: Ctx, paths: string[]): Promise<void> {
  const opts = ctx.cmd.opts() as { role?: string; gun?: string };
  const kr = await keyring();
  // Flags are checked before anything is read or created (SEC-F4).
  if (opts.role !== undefined && opts.role !== '') kr.validateRole(opts.role);
  if (opts.gun !== undefined && opts.gun !== '') kr.validateGun(opts.gun);
  await ctx.config();
  const sources: { name: string; text: string }[] = [];
  for (const f of paths) {
    let text: string;
    try {
      const fh = await fsp.open(absolute(ctx, f), 'r');
      try {
        const st = await fh.stat();
        if (st.isDirectory()) throw new CliError('BAD_INPUT', `read ${f}: is a directory`, { hint: NOT_A_DIRECTORY_HINT });
        if (!st.isFile()) throw new CliError('BAD_INPUT', `${f} is not a regular file`);
        if (st.size > MAX_IMPORT_FILE_SIZE) throw new CliError('BAD_INPUT', `${f} is too large to be a key file (${st.size} bytes)`);
        text = (await fh.readFile()).toString('utf8');
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (e instanceof CliError) throw e;
      const code = (e as { code?: string }).code;
      const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
      throw new CliError('BAD_INPUT', `open ${f}: ${why}`);
    }
    sources.push({ name: f, text });
  }
  const files = await (await keys()).openKeyFiles(ctx);
  const result = await kr.importKeyTexts({
    files: files.store,
    sources,
    role: opts.role,
    gun: opts.gun,
    passphrases: files.passphrases,
    log: (level, msg) => ctx.app.output.log(level, msg),
    token: async () => (await openToken(ctx, files)).store,
  });
  if (result.rejected.length > 0) {
    const total = result.rejected.length + result.imported.length + result.unchanged.length;
    const first = result.rejected[0]!;
    throw new CliError(
      'IMPORT_INCOMPLETE',
      `failed to import all keys: ${result.rejected.length} of ${total} key blocks could not be imported (${first.source}, block ${first.block}: ${first.reason})`,
      { hint: result.imported.length > 0 ? `the other keys were imported: ${result.imported.map((r) => r.id.slice(0, 7)).join(', ')}` : undefined },);
  }
}

// ---------------------------------------------------------------------------------------------
// key export

async function keyExport(ctx: Ctx): Promise<void> {
  const opts = ctx.cmd.opts() as { gun: string[]; key: string[]; output?: string; public?: boolean };
  if (opts.gun.length > 0 && opts.key.length > 0) {
    throw new CliError('BAD_FLAGS', 'Only the --gun or --key flag may be provided, not a mix of the two flags');
  }
  const output = opts.output !== undefined && opts.output !== '' ? absolute(ctx, opts.output) : undefined;
  const [k, kr] = [await keys(), await keyring()];
  const text = opts.public
    ? await kr.exportPublicKeys({ service: (await k.openKeyService(ctx)).service, ids: opts.key, guns: opts.gun, output })
    : await kr.exportKeys({ files: (await k.openKeyFiles(ctx)).store, ids: opts.key, guns: opts.gun, log: (level, msg) => ctx.app.output.log(level, msg), output });
  if (text !== undefined) ctx.app.output.out(text);
}

// ---------------------------------------------------------------------------------------------
// key remove

async function keyRemove(ctx: Ctx, id: string): Promise<void> {
  await ctx.config();
  if (id.length !== 64) throw new CliError('INVALID_KEY_ID', `invalid key ID provided: ${id}`, { hint: 'a key ID is 64 hexadecimal characters, as `key list` shows' });
  const files = await (await keys()).openKeyFiles(ctx);
  const kr = await keyring();
  kr.validateKeyId(id);
  const out = ctx.app.output;
  const token = await openToken(ctx, files);
  out.out('\n');
  let found;
  try {
    found = await kr.findKey(token.store, files.store, id);
  } catch (e) {
    out.out('\n');
    throw e;
  }
  if (found.length === 0) {
    out.out('\n');
    throw new CliError('KEY_NOT_FOUND', `No key with ID ${id} found`, { hint: 'run `key list` to see the keys of this trust directory' });
  }
  let chosen = found[0]!;
  if (found.length > 1) {
    for (;;) {
      out.out('Found the following matching keys:\n');
      found.forEach((f, i) => out.out(`\t${i + 1}. ${f.record.id}: ${f.record.role} (${f.store.name})\n`));
      out.out('Which would you like to delete?  Please enter a number:  ');
      const answer = await files.prompt.readLine();
      if (answer === null) {
        out.out('\n');
        throw new CliError('ABORTED', 'no choice entered (end of input)');
      }
      const n = /^\s*\d+\s*$/.test(answer) ? Number(answer.trim()) : NaN;
      if (!(n >= 1 && n <= found.length)) {
        out.out(`\nInvalid choice: ${answer.trim()}\n`);
        continue;
      }
      chosen = found[n - 1]!;
      out.out('\n');
      break;
    }
  }
  const description = `${chosen.record.id} (role ${chosen.record.role}) from ${chosen.store.name}`;
  out.out(`Are you sure you want to remove ${description}?  (yes/no)  `);
  const yes = (ctx.cmd.opts() as { yes?: boolean }).yes === true;
  if (yes) out.out('yes (--yes)\n');
  const { confirm } = await import('../prompt.js');
  if (!yes && !(await confirm(files.prompt, { flag: '--yes', action: 'remove the key', piped: `echo yes | ${shellLine([ctx.app.program, 'key', 'remove', id])}` }))) {
    out.out('\nAborting action.\n\n');
    return;
  }
  await chosen.store.remove(id);
  out.out(`\nDeleted ${description}.\n\n`);
}

// ---------------------------------------------------------------------------------------------
// key passwd

async function keyPasswd(ctx: Ctx, id: string): Promise<void> {
  await ctx.config();
  if (id.length !== 64) throw new CliError('INVALID_KEY_ID', `invalid key ID provided: ${id}`, { hint: 'a key ID is 64 hexadecimal characters, as `key list` shows' });
  const files = await (await keys()).openKeyFiles(ctx);
  const kr = await keyring();
  kr.validateKeyId(id);
  if (!(await kr.changePassphrase({ files: files.store, id, env: ctx.app.env, prompt: files.prompt, variable: NEW_PASSPHRASE_VARIABLE }))) {
    throw new CliError('KEY_NOT_FOUND', `could not retrieve local key for key ID provided: ${id}: no such key in ${files.store.name}`, { hint: 'run `key list` to see the keys of this trust directory' });
  }
  ctx.app.output.out(`\nSuccessfully updated passphrase for key ID: ${id}\n`);
}
