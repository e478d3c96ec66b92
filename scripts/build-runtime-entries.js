// Part of `npm run build`, after tsc: dist/ for the Deno and Bun adapters, which tsc leaves out
// (their `Deno` and `Bun` globals are not in its types). Deno runs no TypeScript from
// node_modules, so `npm:broker-hono/deno` needs JavaScript; Bun gets the same for its types.
// Type-checked elsewhere (`npm run typecheck`: deno check, tsconfig.bun.json); here the types are
// only stripped (`transpileModule`) and the declarations written from the explicit types of the
// exported API (`transpileDeclaration`, as JSR demands them anyway). Their CLIs stay source-only:
// `deno task start` and `bun run mod.ts` run the TypeScript (CLI_ONLY: the files only they use).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = new URL('..', import.meta.url).pathname;
const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  verbatimModuleSyntax: true,
  rewriteRelativeImportExtensions: true,
  declaration: true,
};

const CLI_ONLY = new Set(['cli.ts', 'signal-relay.ts']);

let failed = false;
for (const runtime of ['deno', 'bun']) {
  const from = join(root, 'src', 'adapters', runtime);
  const to = join(root, 'dist', 'src', 'adapters', runtime);
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from).filter((name) => name.endsWith('.ts') && !CLI_ONLY.has(name))) {
    const source = readFileSync(join(from, file), 'utf8');
    const base = file.slice(0, -'.ts'.length);
    const js = ts.transpileModule(source, { compilerOptions, fileName: file, reportDiagnostics: true });
    const dts = ts.transpileDeclaration(source, { compilerOptions, fileName: file, reportDiagnostics: true });
    const problems = [...(js.diagnostics ?? []), ...(dts.diagnostics ?? [])];
    for (const problem of problems) {
      const line = problem.file && problem.start !== undefined ? problem.file.getLineAndCharacterOfPosition(problem.start).line + 1 : 0;
      console.error(`src/adapters/${runtime}/${file}:${line}: ${ts.flattenDiagnosticMessageText(problem.messageText, ' ')}`);
      failed = true;
    }
    writeFileSync(join(to, `${base}.js`), js.outputText);
    writeFileSync(join(to, `${base}.d.ts`), dts.outputText);
  }
}
if (failed) process.exit(1);
