import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLayering } from './layering.ts';

const srcRoot = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

test('the source tree follows the one dependency rule', () => {
  const violations = checkLayering(srcRoot);
  assert.deepEqual(violations, [], violations.map((v) => `${v.file}:${v.line}: ${v.reason}`).join('\n'));
});

/** Builds a throwaway src/ tree from path → contents and checks it. */
function checkPlanted(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'domus-layering-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return checkLayering(root).map((v) => `${v.file}:${v.line}: ${v.reason}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('a planted upward import from machine/ is caught', () => {
  const found = checkPlanted({
    'machine/hart.ts':
      "import { x } from '../common/bits.ts';\nimport { Domain } from '../hypervisor/domain.ts';\n",
    'common/bits.ts': 'export const x = 1;\n',
    'hypervisor/domain.ts': 'export class Domain {}\n',
  });
  assert.deepEqual(found, ['machine/hart.ts:2: src/machine may not import src/hypervisor']);
});

test('hypervisor/ may import machine/ but not toolstack, cli, api or web', () => {
  const found = checkPlanted({
    'hypervisor/a.ts': [
      "import { Hart } from '../machine/hart.ts';",
      "import type { Cfg } from '../toolstack/cfg.ts';",
      "export { main } from '../cli/main.ts';",
      "const api = await import('../api/server.ts');",
      "import '../web/app.ts';",
    ].join('\n'),
  });
  assert.deepEqual(found, [
    'hypervisor/a.ts:2: src/hypervisor may not import src/toolstack',
    'hypervisor/a.ts:3: src/hypervisor may not import src/cli',
    'hypervisor/a.ts:4: src/hypervisor may not import src/api',
    'hypervisor/a.ts:5: src/hypervisor may not import src/web',
  ]);
});

test('machine/ and hypervisor/ may not import Node.js modules; toolstack/ and unit tests may', () => {
  const found = checkPlanted({
    'machine/a.ts': "import { readFileSync } from 'node:fs';\n",
    'machine/a_test.ts': "import { test } from 'node:test';\n",
    'hypervisor/b.ts': "import { Worker } from 'worker_threads';\n",
    'hypervisor/c.ts': "const fs = require('fs');\n",
    'toolstack/d.ts': "import { readFileSync } from 'node:fs';\n",
  });
  assert.deepEqual(found, [
    "hypervisor/b.ts:1: src/hypervisor must run in a browser and may not import the Node.js module 'worker_threads'",
    "hypervisor/c.ts:1: src/hypervisor must run in a browser and may not import the Node.js module 'fs'",
    "machine/a.ts:1: src/machine must run in a browser and may not import the Node.js module 'node:fs'",
  ]);
});
