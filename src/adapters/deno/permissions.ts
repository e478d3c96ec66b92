/**
 * Deno's permissions as the broker reports them: a permission Deno was not given ends the program
 * with one line naming the flag to add (exit 2), never a stack trace.
 */
export function isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/**
 * One line for a missing permission: what was refused and the flag that grants it. Deno's own
 * message reads `Requires net access to "0.0.0.0:3000", run again with the --allow-net flag`.
 */
export function permissionProblem(error: unknown): string | undefined {
  if (!isPermissionError(error)) return undefined;
  const message = (error as Error).message.split('\n')[0]!;
  const kind = /Requires (\w+) access/i.exec(message)?.[1]?.toLowerCase();
  const flag = /--allow-[a-z-]+/.exec(message)?.[0] ?? (kind ? `--allow-${kind}` : undefined);
  const what = message.replace(/,? run again with.*$/i, '').replace(/^Requires/, 'requires');
  return flag
    ? `Deno permission missing: ${what}; add ${flag} (or run \`deno task start\` / \`deno run -P mod.ts\`, which use deno.json's permission set)`
    : `Deno permission missing: ${what}`;
}

/**
 * Throws Deno's own `NotCapable` unless the program may listen at `host:port`. Needed before
 * `node:http`'s `listen`, which meets a missing permission inside a callback of its own, where
 * it becomes an uncaught error with a stack trace instead of the one line `permissionProblem`
 * makes of it. Asks the user where Deno would (an interactive terminal without `--no-prompt`).
 */
export function assertMayListen(host: string, port: number): void {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (Deno.permissions.requestSync({ name: 'net', host: address }).state === 'granted') return;
  throw new Deno.errors.NotCapable(`Requires net access to "${address}", run again with the --allow-net flag`);
}
