/**
 * Wraps a command in `setpriv --pdeathsig KILL` (util-linux): the kernel
 * SIGKILLs it when the process that spawned it ends, however that ends. The
 * exit hook in host-process.ts does not run under jest (a test file's
 * `process` is jest's copy, whose 'exit' never fires), and a throwaway
 * Postgres, Redis or worker left running would outlive the test run.
 * setpriv execs in place: the spawned pid is the command itself.
 */
export function killedWithParent(command: string, args: string[], asUser?: { uid: number; gid: number }): [string, string[]] {
  const user = asUser ? [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--init-groups'] : [];
  return ['setpriv', [...user, '--pdeathsig', 'KILL', command, ...args]];
}
