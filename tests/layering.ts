/**
 * The one dependency rule of DESIGN.md, as a checker.
 *
 * Layers, lowest first: common, machine, hypervisor, toolstack, then cli / api / web at the top;
 * platform holds the node/ and browser/ adapters. Imports point down only:
 *
 *   common      imports nothing else of ours
 *   machine     may import common
 *   hypervisor  may import machine, common
 *   toolstack   may import hypervisor, machine, common, platform
 *   cli, api    may import toolstack and below, platform (not web; cli and api not each other)
 *   web         may import common (it reaches the toolstack only through the API)
 *   platform    may import common
 *
 * `common`, `machine` and `hypervisor` must also run in a browser, so they may not import a
 * Node.js builtin module (`node:fs`, `fs`, `worker_threads`, …).
 *
 * The checker reads every .ts file under a source root and finds static imports, re-exports,
 * dynamic `import()` and `require()` calls by pattern; it does not need the code to compile.
 * Unit tests (`*_test.ts`) are exempt: they run under Node's test runner, not in the product.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

export const LAYERS = [
  'common',
  'machine',
  'hypervisor',
  'toolstack',
  'cli',
  'api',
  'web',
  'platform',
] as const;
export type Layer = (typeof LAYERS)[number];

/** For each layer, the other layers it may import. */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  common: [],
  machine: ['common'],
  hypervisor: ['machine', 'common'],
  toolstack: ['hypervisor', 'machine', 'common', 'platform'],
  cli: ['toolstack', 'hypervisor', 'machine', 'common', 'platform'],
  api: ['toolstack', 'hypervisor', 'machine', 'common', 'platform'],
  web: ['common'],
  platform: ['common'],
};

/** Layers whose code must run in a browser too. */
const BROWSER_SAFE: readonly Layer[] = ['common', 'machine', 'hypervisor'];

export interface Violation {
  /** File path relative to the source root, with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  reason: string;
}

const IMPORT_PATTERNS = [
  /\bimport\s+(?:type\s+)?(?:[\w*{}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g,
  /\bexport\s+(?:type\s+)?[\w*{}\s,]+?\s+from\s+['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

const NODE_BUILTINS = new Set(builtinModules);

function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return NODE_BUILTINS.has(specifier.split('/')[0] ?? specifier);
}

function layerOf(srcRoot: string, absPath: string): Layer | undefined {
  const rel = relative(srcRoot, absPath);
  if (rel.startsWith('..')) return undefined;
  const top = rel.split(sep)[0];
  return LAYERS.find((l) => l === top);
}

function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('_test.ts')) out.push(p);
  }
  return out;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Checks every .ts file under `srcRoot` and returns the imports that break the rule. */
export function checkLayering(srcRoot: string): Violation[] {
  const root = resolve(srcRoot);
  const violations: Violation[] = [];
  for (const file of listTsFiles(root)) {
    const from = layerOf(root, file);
    if (from === undefined) continue;
    const text = readFileSync(file, 'utf8');
    const fileRel = relative(root, file).split(sep).join('/');
    for (const pattern of IMPORT_PATTERNS) {
      for (const m of text.matchAll(pattern)) {
        const specifier = m[1];
        if (specifier === undefined) continue;
        const at = { file: fileRel, line: lineAt(text, m.index ?? 0), specifier };
        if (isNodeBuiltin(specifier)) {
          if (BROWSER_SAFE.includes(from)) {
            violations.push({
              ...at,
              reason: `src/${from} must run in a browser and may not import the Node.js module '${specifier}'`,
            });
          }
          continue;
        }
        if (!specifier.startsWith('.')) continue;
        const target = layerOf(root, resolve(dirname(file), specifier));
        if (target === undefined) {
          violations.push({ ...at, reason: `'${specifier}' reaches outside src/` });
        } else if (target !== from && !ALLOWED[from].includes(target)) {
          violations.push({ ...at, reason: `src/${from} may not import src/${target}` });
        }
      }
    }
  }
  return violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
