// verify-image's exit codes (docs/commands/verify-image.md): a pipeline tells "do not deploy"
// (untrusted) from "could not ask" (unreachable) and from a bad command line (usage).

export const GATE_EXIT = { trusted: 0, error: 1, usage: 2, untrusted: 3, unreachable: 4 } as const;
