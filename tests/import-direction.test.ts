/**
 * Imports point down the layers, and no value import closes a cycle. Every file of `src/` and
 * `mod.ts` is parsed (static imports, re-exports, `import()` with a literal); each relative
 * import is resolved to the file it names, and both files' layers are looked up in the table
 * below. A file's layer is its folder under `src/`; the top-level `src/*.ts` files are the leaves
 * (topic, message, origin, options, receiver: what a user may import alone). A folder the table
 * does not know fails the test until it is given a place in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ROOT } from './helpers/server.ts';
import { importsOf, sourceFiles } from './helpers/imports.ts';

const LAYERS = ['leaf', 'core', 'engine', 'app', 'serve', 'cli', 'adapters', 'mod', 'client'] as const;
type Layer = (typeof LAYERS)[number];

/**
 * Which layers each layer may import from (besides its own), types included: a type from above
 * ties a lower layer to the one above all the same. Leaves import no other leaf's values, so each
 * stands alone (`broker-hono/topic` is published on its own); a type from another leaf is allowed
 * (`receiver.ts` describes what it receives with `message.ts`'s types). `serve` is the
 * runtime-neutral serve lifecycle between the app and the command line. `client` is the client
 * library (`broker-hono/client`): it runs in browsers as it is, so it imports nothing of the rest
 * and nothing imports it (the app serves a generated copy of it as text).
 */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  leaf: [],
  core: ['leaf'],
  engine: ['core', 'leaf'],
  app: ['engine', 'core', 'leaf'],
  serve: ['app', 'engine', 'core', 'leaf'],
  cli: ['serve', 'app', 'engine', 'core', 'leaf'],
  adapters: ['cli', 'serve', 'app', 'engine', 'core', 'leaf'],
  mod: ['adapters', 'cli', 'serve', 'app', 'engine', 'core', 'leaf'],
  client: [],
};

/** Files outside `src/` that code may read as data (the version, from package.json). */
const DATA_FILES = ['package.json'];

interface Edge {
  from: string;
  to: string;
  line: number;
  specifier: string;
  typeOnly: boolean;
  dynamic: boolean;
}

/** The layer of a repository path (`src/engine/redis/x.ts` → engine), or undefined if unknown. */
function layerOf(path: string): Layer | undefined {
  if (path === 'mod.ts') return 'mod';
  const parts = path.split('/');
  if (parts[0] !== 'src') return undefined;
  if (parts.length === 2) return 'leaf';
  const folder = parts[1] as Layer;
  return LAYERS.includes(folder) && folder !== 'leaf' && folder !== 'mod' ? folder : undefined;
}

/** Every relative import of `files` (repository paths → source), resolved to a repository path. */
function edgesOf(files: Map<string, string>): Edge[] {
  return [...files].flatMap(([from, source]) =>
    importsOf(source, from)
      .filter((ref) => ref.specifier.startsWith('.'))
      .map((ref) => ({ from, to: resolve('/', dirname(from), ref.specifier).slice(1), ...ref })),
  );
}

/** Imports that break the table, as `file:line layer → layer: specifier`. */
function directionViolations(files: Map<string, string>, exists: (path: string) => boolean): string[] {
  const violations = [...files.keys()].filter((file) => !layerOf(file)).map((file) => `${file} is in a folder the table does not know`);
  for (const edge of edgesOf(files)) {
    const where = `${edge.from}:${edge.line}`;
    const what = edge.dynamic ? `import('${edge.specifier}')` : `'${edge.specifier}'`;
    const from = layerOf(edge.from);
    const to = layerOf(edge.to);
    if (!from || DATA_FILES.includes(edge.to)) continue;
    else if (!exists(edge.to)) violations.push(`${where} imports a file that does not exist: ${what}`);
    else if (!to) violations.push(`${where} imports ${edge.to}, in a folder the table does not know`);
    else if (from === 'leaf' && to === 'leaf' && !edge.typeOnly) violations.push(`${where} leaf → leaf (values): ${what}`);
    else if (from !== to && !MAY_IMPORT[from].includes(to)) violations.push(`${where} ${from} → ${to}: ${what}`);
  }
  return violations;
}

/** Cycles of imports that load code (type-only ones are erased), each as `a → b → … → a`. */
function valueCycles(files: Map<string, string>): string[] {
  const graph = new Map<string, string[]>();
  for (const edge of edgesOf(files)) {
    if (edge.typeOnly || !files.has(edge.to)) continue;
    graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
  }
  // Tarjan's strongly connected components: a component of two or more files is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[] = [];
  const connect = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)?.includes(file)) cycles.push(describeCycle(component.sort(), graph));
  };
  for (const file of [...files.keys()].sort()) if (!index.has(file)) connect(file);
  return cycles;
}

/** One loop through a component, from its first file: `a → b → a`. */
function describeCycle(component: string[], graph: Map<string, string[]>): string {
  const members = new Set(component);
  const start = component[0]!;
  const path = [start];
  const seen = new Set([start]);
  for (let at = start; ; ) {
    const next = (graph.get(at) ?? []).filter((to) => members.has(to)).find((to) => to === start || !seen.has(to)) ?? start;
    path.push(next);
    if (next === start) break;
    seen.add(next);
    at = next;
  }
  return `${path.join(' → ')}${component.length > path.length - 1 ? ` (and ${component.length - path.length + 1} more files)` : ''}`;
}

/** `mod.ts` and every source file of `src/`, by repository path (`/`-separated). */
function repositorySources(): Map<string, string> {
  const paths = [join(ROOT, 'mod.ts'), ...sourceFiles(join(ROOT, 'src'))];
  return new Map(paths.map((path) => [relative(ROOT, path).split(sep).join('/'), readFileSync(path, 'utf8')]));
}

test('every import in src/ and mod.ts points down the layers (the MAY_IMPORT table)', () => {
  const files = repositorySources();
  assert.ok(files.has('src/core/broker-core.ts') && files.has('src/topic.ts'), 'the scan found the sources');
  const violations = directionViolations(files, (path) => existsSync(join(ROOT, path)));
  assert.deepEqual(violations, [], `imports against the layers:\n${violations.join('\n')}`);
});

test('no value-import cycles in src/ and mod.ts (type-only imports are erased and do not count)', () => {
  const cycles = valueCycles(repositorySources());
  assert.deepEqual(cycles, [], `cycles:\n${cycles.join('\n')}`);
});

test('the checks find what they look for: upward, leaf and unknown imports; cycles, not type-only ones', () => {
  const files = new Map([
    ['src/topic.ts', "import type { M } from './message.ts';\nimport { x } from './origin.ts';"],
    ['src/message.ts', ''],
    ['src/origin.ts', ''],
    ['src/core/a.ts', "import { b } from './b.ts';\nexport { c } from '../app/c.ts';\nimport type { T } from '../engine/t.ts';"],
    ['src/core/b.ts', "import { a } from './a.ts';\nconst late = () => import('../adapters/x.ts');"],
    ['src/engine/t.ts', "import type { A } from '../core/a.ts';"],
    ['src/app/c.ts', "import '../engine/t.ts';\nimport { gone } from './missing.ts';"],
    ['src/adapters/x.ts', "import { version } from '../../package.json';\nimport { y } from '../cli/y.ts';"],
    ['src/cli/y.ts', ''],
    ['src/plugins/p.ts', "import { a } from '../core/a.ts';"],
    ['mod.ts', "export * from './src/adapters/x.ts';"],
  ]);
  assert.deepEqual(directionViolations(files, (path) => files.has(path)), [
    'src/plugins/p.ts is in a folder the table does not know',
    "src/topic.ts:2 leaf → leaf (values): './origin.ts'",
    "src/core/a.ts:2 core → app: '../app/c.ts'",
    "src/core/a.ts:3 core → engine: '../engine/t.ts'",
    "src/core/b.ts:2 core → adapters: import('../adapters/x.ts')",
    "src/app/c.ts:2 imports a file that does not exist: './missing.ts'",
  ]);
  // a ⇄ b load each other; engine/t → core/a is type-only, so a → t → a is no cycle (and
  // app/c → engine/t only loads t, which loads nothing).
  assert.deepEqual(valueCycles(files), ['src/core/a.ts → src/core/b.ts → src/core/a.ts']);
});

test('the parser tells imports that load code from type-only ones', () => {
  const source = [
    "import { a } from './a.ts';",
    "import type { B } from './b.ts';",
    "import { type C } from './c.ts'; // still loads c.ts (verbatimModuleSyntax)",
    "export type { D } from './d.ts';",
    "export * from './e.ts';",
    "type F = typeof import('./f.ts');",
    "const g = await import('./g.ts');",
    "import './h.ts';",
    "// import { i } from './i.ts';",
    "const j = 'import(\"./j.ts\")';",
  ].join('\n');
  assert.deepEqual(
    importsOf(source).map(({ specifier, line, typeOnly, dynamic }) => `${line} ${specifier}${typeOnly ? ' type' : ''}${dynamic ? ' dynamic' : ''}`),
    ['1 ./a.ts', '2 ./b.ts type', '3 ./c.ts', '4 ./d.ts type', '5 ./e.ts', '6 ./f.ts type', '7 ./g.ts dynamic', '8 ./h.ts'],
  );
});
