// What every command shares: the program name, output, environment, the fixed `now`, global
// flags, and the lazily loaded configuration. Command modules get an App and wrap their actions
// with `app.action`, which renders errors the one way.

import type { Command } from 'commander';
import type { Config, GlobalFlags, TrustDirDefault } from '../config/config.js';
import { describeError } from '../client/errors.js';
import { UsageError, isExpected } from './errors.js';
import { processOutput, type Output } from './output.js';

export type Program = 'dtrust' | 'notary';

export interface Ctx {
  readonly app: App;
  readonly cmd: Command;
  readonly flags: GlobalFlags;
  config(): Promise<Config>;
}

export interface ActionOptions {
  /** docker's verbs use docker's default trust directory under either program name. */
  docker?: boolean;
}

export class App {
  exitCode = 0;
  /** The exit code of a failure, for a command whose failures have their own codes (verify-image); default 1. */
  exitCodeOf: ((e: unknown) => number) | undefined;
  /** Roles and certificates this command already warned about nearing their end (cli/session.ts). */
  readonly expiryWarned = new Set<string>();
  private readonly configs = new Map<TrustDirDefault, Promise<Config>>();

  constructor(
    readonly program: Program,
    readonly output: Output,
    readonly env: Record<string, string | undefined>,
    readonly cwd: string,
    /** The reference time of this command (SEC-V5). */
    readonly now: number,
  ) {}

  /** Wraps a command action: builds the context, runs it, renders any error. */
  action<A extends unknown[]>(fn: (ctx: Ctx, ...args: A) => Promise<void>, opts: ActionOptions = {}): (...args: unknown[]) => Promise<void> {
    const defaults: TrustDirDefault = opts.docker || this.program === 'dtrust' ? 'docker' : 'notary';
    return async (...raw: unknown[]) => {
      const cmd = raw[raw.length - 1] as Command;
      const flags = globalFlags(cmd);
      if (flags.debug) this.output.setLevel('debug');
      else if (flags.verbose) this.output.setLevel('info');
      const ctx: Ctx = { app: this, cmd, flags, config: () => this.config(flags, defaults) };
      try {
        await fn(ctx, ...(raw.slice(0, -2) as A));
      } catch (e) {
        this.fail(e, cmd, flags.debug === true);
      }
    };
  }

  private config(flags: GlobalFlags, defaults: TrustDirDefault): Promise<Config> {
    let p = this.configs.get(defaults);
    if (p === undefined) {
      p = import('../config/config.js').then(async (m) => {
        const cfg = await m.loadConfig(flags, this.env, this.cwd, this.program, defaults);
        for (const n of cfg.notices) this.output.log('warning', n);
        // notary's debug log names the trust directory and configuration; -D here adds the server.
        this.output.log('debug', `trust directory: ${cfg.trustDir} (from ${cfg.trustDirFrom === 'flag' ? '-d' : cfg.trustDirFrom === 'config' ? 'trust_dir in the configuration file' : 'the default'})`);
        this.output.log('debug', `configuration file: ${cfg.configFile ?? 'none'}`);
        // Never the user:password@ part of the URL (CLI-09).
        const { redactUrl } = await import('../remote/url.js');
        this.output.log('debug', `server: ${redactUrl(cfg.serverUrl)} (from ${cfg.serverUrlFrom === 'flag' ? '-s' : cfg.serverUrlFrom === 'config' ? 'remote_server.url' : cfg.serverUrlFrom === 'env' ? 'DOCKER_CONTENT_TRUST_SERVER' : 'the default'})`);
        return cfg;
      });
      this.configs.set(defaults, p);
    }
    return p;
  }

  /** Prints the fatal line (stdout as notary when invoked as notary, else stderr) and a hint. */
  fail(e: unknown, cmd: Command | undefined, debug: boolean): void {
    this.exitCode = this.exitCodeOf?.(e) ?? 1;
    const o = this.output;
    if (e instanceof UsageError && e.showUsage && cmd) o.out(cmd.helpInformation());
    const { message, hint } = describeError(e);
    const line = `\n* fatal: ${message}\n`;
    if (this.program === 'notary') o.out(line);
    else o.err(line);
    if (hint) o.err(`  hint: ${hint}\n`);
    if (debug && !isExpected(e) && e instanceof Error && e.stack) o.log('debug', e.stack);
  }
}

export function globalFlags(cmd: Command): GlobalFlags {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  const s = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  return {
    configFile: s('configFile'),
    trustDir: s('trustDir'),
    server: s('server'),
    tlscacert: s('tlscacert'),
    tlscert: s('tlscert'),
    tlskey: s('tlskey'),
    pkcs11Module: s('pkcs11Module'),
    debug: o.debug === true,
    verbose: o.verbose === true,
  };
}

/** A command group (`key`, `delegation`) prints its help and exits 0 without a subcommand, as notary. */
export function group(parent: Command, name: string, description: string): Command {
  const g = parent.command(name).description(description).argument('[subcommand]').allowExcessArguments(true);
  g.action(() => g.outputHelp());
  return g;
}

/** The App of this process's command: its program name, output, environment and start time. */
export function processApp(invokedAs: string): App {
  const now = Date.now();
  return new App(invokedAs === 'notary' ? 'notary' : 'dtrust', processOutput(now), process.env, process.cwd(), now);
}
