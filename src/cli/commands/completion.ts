// `completion bash|zsh|fish` (notary has `notary completion`): the script that makes the shell
// complete commands, flags, GUNs, roles and key IDs (cli/completion.ts).

import type { Command } from 'commander';
import type { App } from '../app.js';
import { UsageError } from '../errors.js';

export function registerCompletion(program: Command, app: App): void {
  program
    .command('completion')
    .usage('bash|zsh|fish')
    .summary('Generate the autocompletion script for the specified shell')
    .description(
      `Generate the autocompletion script for ${app.program} for bash, zsh or fish. Load it with \`source <(${app.program} completion bash)\` (bash, in ~/.bashrc), \`source <(${app.program} completion zsh)\` (zsh, after compinit), or \`${app.program} completion fish > ~/.config/fish/completions/${app.program}.fish\`.`,
    )
    .argument('[shell]')
    .action(
      app.action(async (ctx, shell?: string) => {
        const c = await import('../completion.js');
        if (shell === undefined || !(c.SHELLS as readonly string[]).includes(shell)) {
          throw new UsageError(shell === undefined ? 'must specify the shell: bash, zsh or fish' : `unsupported shell "${shell}": bash, zsh or fish`);
        }
        ctx.app.output.out(c.completionScript(shell as 'bash' | 'zsh' | 'fish', app.program));
      }),
    );
  // Run by the scripts on TAB; main() answers it before commander parses anything.
  program.command('__complete', { hidden: true }).argument('[words...]');
}
