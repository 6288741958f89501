#!/usr/bin/env node
// The `domusd` command, Domus's management daemon: runs the bundle (built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/domusd.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('domusd: not built yet; run npm run build in the Domus checkout\n');
  process.exit(2);
}
await import(bundle.href);
