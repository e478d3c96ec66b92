/**
 * What a TypeScript file imports, read with the TypeScript parser (not a regular expression, so
 * comments, strings and odd formatting cannot fool it). Shared by the runtime-boundary test (no
 * runtime module outside src/adapters) and the import-direction test (the layers).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface ImportRef {
  /** The module specifier as written: `../core/broker-core.ts`, `node:fs`, `hono`. */
  readonly specifier: string;
  /** 1-based line of the import. */
  readonly line: number;
  /**
   * Erased when compiled: `import type …`, `export type … from`, `typeof import('…')`. With
   * `verbatimModuleSyntax` (tsconfig.json) `import { type A } from 'x'` still loads `x` (as
   * `import {} from 'x'`), so only a whole type-only clause counts.
   */
  readonly typeOnly: boolean;
  /** Loaded when the code runs, not when the module is: `import('…')` or `require('…')`. */
  readonly dynamic: boolean;
}

/** Every import, re-export, `import()` and `require()` with a literal specifier in `source`. */
export function importsOf(source: string, fileName = 'source.ts'): ImportRef[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: ImportRef[] = [];
  const add = (literal: ts.Node, typeOnly: boolean, dynamic: boolean) => {
    if (!ts.isStringLiteralLike(literal)) return;
    const line = file.getLineAndCharacterOfPosition(literal.getStart(file)).line + 1;
    found.push({ specifier: literal.text, line, typeOnly, dynamic });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly, false);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true, false);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isImport || isRequire) add(node.arguments[0]!, false, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found.sort((a, b) => a.line - b.line);
}

/** The source files (`.ts`, `.js`, `.mts`, `.mjs`) below `dir`, recursively, except under `skip`. */
export function sourceFiles(dir: string, skip: string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skip.includes(path) ? [] : sourceFiles(path, skip);
    return /\.(ts|js|mts|mjs)$/.test(entry.name) ? [path] : [];
  });
}
