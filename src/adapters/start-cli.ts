/**
 * `mod.ts` run as a program (`deno run -P mod.ts`, `bun run mod.ts`, or `node mod.ts` where Node
 * runs TypeScript and has `import.meta.main`): start the command line of the runtime that is
 * running. The runtime's module is loaded by a computed specifier so that importing the library
 * never loads, or type-checks, another runtime's adapter (tsc follows no computed import; Deno
 * follows the template below into deno/ only).
 */
interface RuntimeGlobals {
  Deno?: { args: string[]; exit(code: number): never };
  Bun?: unknown;
  process?: { argv: string[]; exit(code: number): never };
}

interface RuntimeCli {
  main(argv: readonly string[]): Promise<void>;
}

export async function startRuntimeCli(): Promise<void> {
  const runtime = globalThis as unknown as RuntimeGlobals;
  const name = runtime.Deno ? 'deno' : runtime.Bun ? 'bun' : 'node';
  const argv = runtime.Deno ? runtime.Deno.args : (runtime.process?.argv.slice(2) ?? []);
  const exit = (code: number) => (runtime.Deno ? runtime.Deno.exit(code) : runtime.process?.exit(code));
  try {
    // Deno needs a module it can find before running (or it asks for read permission): this
    // template names only files under deno/. Bun and Node read any module without asking.
    const elsewhere = `./${name}/cli.ts`;
    const cli = (name === 'deno' ? await import(`./deno/${'cli'}.ts`) : await import(elsewhere)) as RuntimeCli;
    await cli.main(argv);
  } catch (error) {
    // Anything the command line did not turn into its own message: still one line, exit 1.
    console.error(`broker-hono: ${error instanceof Error ? error.message : String(error)}`);
    exit(1);
  }
}
