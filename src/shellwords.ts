// Command lines shown to the user (hints, the demo) must work when pasted into a POSIX shell.
// Below every layer, as errors.ts is: hints are written in every layer.

const PLAIN = /^[A-Za-z0-9_\-./:@%+=,]+$/;

/** One word as a shell reads it: as is when nothing in it is special, else in single quotes. */
export function shellQuote(word: string): string {
  if (PLAIN.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from its words. */
export function shellLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
