#!/usr/bin/env node
/**
 * `npx n8n-nodes-wechat-ilink login`: QR login in a terminal (see cli-login.ts).
 * Exit codes: 0 done, 1 login failed, 2 bad command line, 130 cancelled.
 */
import { parseCommandLine, PROGRAM, USAGE, UsageError } from './cli-args';

const EXIT_USAGE = 2;

async function main(argv: string[]): Promise<number> {
  let commandLine;
  try {
    commandLine = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${PROGRAM}: ${error.message}\nRun '${PROGRAM} --help' for the commands and flags.`);
    return EXIT_USAGE;
  }
  if (commandLine.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  // Loaded only now: the login pulls in the HTTP client, which --help and usage errors do not need.
  const { runLogin } = await import('./cli-login');
  return runLogin(commandLine.flags);
}

/** Exits once stdout has taken everything (a pipe may still hold the last lines), without waiting for idle sockets. */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  // A message, never a stack trace: errors of the core say what to do next.
  console.error(error instanceof Error ? error.message : String(error));
  exit(1);
});
