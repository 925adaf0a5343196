// What both entries read of a command line: the command word, pflag's `-d=DIR` form and its
// string slices. No commander here: stage.ts runs without it.

/** Global flags that take their value in the next argument. */
const VALUE_FLAGS = new Set(['-c', '--configFile', '-s', '--server', '--tlscacert', '--tlscert', '--tlskey', '-d', '--trustDir', '--pkcs11-module']);

/** The first argument that is neither a global flag nor its value. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (!a.startsWith('-') || a === '-') return a;
    if (VALUE_FLAGS.has(a)) i++;
  }
  return undefined;
}

/** pflag accepts `-d=DIR`; commander would read the value as `=DIR`. */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const m = /^(-[A-Za-z])=(.*)$/s.exec(a);
    if (m) out.push(m[1]!, m[2]!);
    else out.push(a);
  }
  return out;
}

/** pflag string slices: comma-separated values, repeatable. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',')];
}
