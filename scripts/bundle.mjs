// Bundles the CLI into one ES module, dist/domus.mjs, so that `domus` starts fast
// (no TypeScript loader at run time). Type checking is `npm run typecheck`.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/domus.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  packages: 'external',
  logLevel: 'warning',
});
