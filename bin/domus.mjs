#!/usr/bin/env node
// The `domus` command: runs the bundled CLI (built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/domus.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('domus: the CLI is not built yet; run npm run build in the Domus checkout\n');
  process.exit(2);
}
await import(bundle.href);
