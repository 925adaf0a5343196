// File errors in Go's words: notary users and scripts read these messages.

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/** Go's wording for the common open/read errors (`open <name>: no such file or directory`), as notary prints them. */
export function goFileError(e: unknown, shown: string): string {
  switch (errnoCode(e)) {
    case 'ENOENT':
      return `open ${shown}: no such file or directory`;
    case 'EACCES':
      return `open ${shown}: permission denied`;
    case 'ENOTDIR':
      return `open ${shown}: not a directory`;
    case 'EISDIR':
      return `read ${shown}: is a directory`;
    case 'ELOOP':
      return `open ${shown}: too many levels of symbolic links`;
    default:
      return `open ${shown}: ${e instanceof Error ? e.message : String(e)}`;
  }
}
