/**
 * Only the runtime adapters (`src/adapters/`) may touch a runtime: the topic module, the core, the
 * app and the CLI use web standards, so every entrypoint shares them. This scans `mod.ts` and every
 * file of `src/` outside `src/adapters/` for Node built-in imports (`node:*` or bare, like `fs`)
 * and for the `Deno`, `Bun`, `process` and `Buffer` globals, and names each offence as file:line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './helpers/server.ts';
import { importsOf, sourceFiles } from './helpers/imports.ts';

const RUNTIME_GLOBALS = ['Deno', 'Bun', 'process', 'Buffer'];
const NODE_BUILTINS = new Set(builtinModules);

/**
 * Splits TypeScript source into code with comments removed and code with comments and string
 * text removed, both keeping every newline so that offsets still map to lines. Template literal
 * text is removed but the code inside `${...}` is kept.
 */
export function stripSource(source: string): { withStrings: string; codeOnly: string } {
  let withStrings = '';
  let codeOnly = '';
  const templateDepth: number[] = []; // brace depth at which each open `${` returns to its template
  let braces = 0;
  let i = 0;
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  const emit = (text: string, isString: boolean) => {
    withStrings += text;
    codeOnly += isString ? blank(text) : text;
  };
  const readTemplateText = () => {
    // From just after a backtick or a `}` closing an expression, to the closing backtick or `${`.
    const start = i;
    while (i < source.length) {
      if (source[i] === '\\') i += 2;
      else if (source[i] === '`') {
        i++;
        emit(source.slice(start, i), true);
        return;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        i += 2;
        emit(source.slice(start, i), true);
        templateDepth.push(braces);
        braces++;
        return;
      } else i++;
    }
    emit(source.slice(start), true);
  };
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      withStrings += blank(source.slice(i, stop));
      codeOnly += blank(source.slice(i, stop));
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      withStrings += blank(source.slice(i, stop));
      codeOnly += blank(source.slice(i, stop));
      i = stop;
    } else if (c === "'" || c === '"') {
      const start = i++;
      while (i < source.length && source[i] !== c && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      i++;
      emit(c, false);
      emit(source.slice(start + 1, i - 1), true);
      emit(c, false);
    } else if (c === '`') {
      emit('`', false);
      i++;
      readTemplateText();
    } else if (c === '}' && templateDepth.length > 0 && braces - 1 === templateDepth[templateDepth.length - 1]) {
      templateDepth.pop();
      braces--;
      emit('}', false);
      i++;
      readTemplateText();
    } else {
      if (c === '{') braces++;
      else if (c === '}') braces--;
      emit(c, false);
      i++;
    }
  }
  return { withStrings, codeOnly };
}

/** Every runtime-specific import or global use in `source`, as `line: what`. */
export function runtimeUses(source: string): string[] {
  const { withStrings, codeOnly } = stripSource(source);
  const lineOf = (offset: number) => source.slice(0, offset).split('\n').length;
  const found: Array<[number, string]> = [];
  // Type-only imports too: a declaration of a Node module is Node-specific all the same.
  for (const { specifier, line } of importsOf(source)) {
    const bare = specifier.split('/')[0]!;
    if (specifier.startsWith('node:') || NODE_BUILTINS.has(specifier) || (!bare.startsWith('@') && !bare.startsWith('.') && NODE_BUILTINS.has(bare))) {
      found.push([line, `imports ${specifier}`]);
    }
  }
  const globals = RUNTIME_GLOBALS.join('|');
  const globalPattern = new RegExp(`(?<![\\w$.])(?:globalThis\\s*(?:\\?\\.|\\.)\\s*)?(${globals})\\b(?!\\s*:)(?=\\s*(?:\\?\\.|\\.|\\[|\\())`, 'g');
  for (const match of codeOnly.matchAll(globalPattern)) {
    found.push([lineOf(match.index!), `uses ${match[1]}`]);
  }
  const typeofPattern = new RegExp(`\\b(?:typeof|in)\\s+(${globals})\\b|['"](${globals})['"]\\s+in\\s+globalThis`, 'g');
  for (const match of withStrings.matchAll(typeofPattern)) {
    found.push([lineOf(match.index!), `looks for ${match[1] ?? match[2]}`]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([line, what]) => `${line}: ${what}`);
}

test('mod.ts and src/ outside src/adapters/ use no Node, Deno or Bun API', () => {
  const files = [join(ROOT, 'mod.ts'), ...sourceFiles(join(ROOT, 'src'), [join(ROOT, 'src', 'adapters')])];
  assert.ok(files.length > 20, `scanned only ${files.length} files`);
  assert.ok(files.some((file) => file.endsWith(join('src', 'core', 'broker-core.ts'))));
  const offences = files.flatMap((file) =>
    runtimeUses(readFileSync(file, 'utf8')).map((use) => `${relative(ROOT, file)}:${use}`),
  );
  assert.deepEqual(offences, [], `runtime APIs outside src/adapters/:\n${offences.join('\n')}`);
});

test('the scan finds every kind of runtime use and ignores comments and strings', () => {
  const source = [
    "import { readFileSync } from 'node:fs';", // 1
    "import path from 'path';", // 2
    "import type { Stats } from 'fs/promises';", // 3
    "export { x } from \"node:http\";", // 4
    "const os = await import('os');", // 5
    'const args = Deno.args;', // 6
    'Bun.serve({ fetch });', // 7
    'const env = process.env;', // 8
    'const bytes = Buffer.from("x");', // 9
    'const deno = globalThis.Deno?.version;', // 10
    "if (typeof Bun !== 'undefined') {}", // 11
    '// Deno.exit(1) in a comment, and process.exit', // 12
    "const text = 'Deno.serve and node:fs in a string';", // 13
    'const ok = session.process.Buffer.Deno;', // 14
    "import { Hono } from 'hono';", // 15
    '/* Bun.serve', // 16
    '   across lines */ const t = `Deno.args ${process.argv} Bun.`;', // 17
    "import { thing } from './process.ts';", // 18
    'const { Deno: d } = { Deno: 1 };', // 19
    "const fs = require('fs');", // 20
  ].join('\n');
  assert.deepEqual(runtimeUses(source), [
    '1: imports node:fs',
    '2: imports path',
    '3: imports fs/promises',
    '4: imports node:http',
    '5: imports os',
    '6: uses Deno',
    '7: uses Bun',
    '8: uses process',
    '9: uses Buffer',
    '10: uses Deno',
    '11: looks for Bun',
    '17: uses process',
    '20: imports fs',
  ]);
});
