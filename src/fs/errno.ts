// System error codes, and Go's words for them: notary is a Go program, and its users and scripts
// read messages such as `open <name>: no such file or directory`.

/** The errno code of a Node system error ("ENOENT"), if any. */
export function errnoCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** What Go's syscall.Errno.Error() says for the codes dtrust reports in Go's words. */
const GO_ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  EPERM: 'operation not permitted',
};

/** Go's text for the errno of `e` ("no such file or directory"), or undefined for other errors. */
export function goErrnoText(e: unknown): string | undefined {
  const code = errnoCode(e);
  return code !== undefined && Object.hasOwn(GO_ERRNO_TEXT, code) ? GO_ERRNO_TEXT[code] : undefined;
}

/**
 * A failed open or read of `shown` as Go's os.ReadFile reports it, the way notary prints it:
 * `open <shown>: no such file or directory`; a directory opens and fails at the read
 * (`read <shown>: is a directory`). Errors without a known errno keep their own message.
 */
export function goFileError(e: unknown, shown: string): string {
  const text = goErrnoText(e);
  if (text === undefined) return `open ${shown}: ${e instanceof Error ? e.message : String(e)}`;
  return `${errnoCode(e) === 'EISDIR' ? 'read' : 'open'} ${shown}: ${text}`;
}
