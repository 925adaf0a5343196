declare const DTRUST_VERSION: string;
declare const DTRUST_COMMIT: string;

export const VERSION = DTRUST_VERSION;
export const COMMIT = DTRUST_COMMIT;

/** The one-line form of `--version`, shaped like notary's. */
export function versionLine(program: string): string {
  return `${program} Version: ${VERSION}, Git commit: ${COMMIT}, Node version: ${process.version}`;
}

/** `version`: four lines, shaped like notary's. */
export function versionBlock(program: string): string {
  return `${program}\n Version:    ${VERSION}\n Git commit: ${COMMIT}\n Node version: ${process.version}\n`;
}
