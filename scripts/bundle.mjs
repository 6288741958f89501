// Bundles the CLI into one ES module, dist/domus.mjs, so that `domus` starts fast
// (no TypeScript loader at run time), and the pCPU thread's entry into dist/pcpu_worker.mjs
// next to it (toolstack/host.ts starts it from there), a driver domain's entry into
// dist/driver_domain_worker.mjs (toolstack/driver_domain.ts starts it), and the management daemon into
// dist/domusd.mjs (toolstack/launcher.ts starts it from there). Type checking is `npm run typecheck`.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  packages: 'external',
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/domus.mjs' }),
  build({ ...common, entryPoints: ['src/toolstack/pcpu_worker.ts'], outfile: 'dist/pcpu_worker.mjs' }),
  build({
    ...common,
    entryPoints: ['src/toolstack/driver_domain_worker.ts'],
    outfile: 'dist/driver_domain_worker.mjs',
  }),
  build({ ...common, entryPoints: ['src/api/domusd_main.ts'], outfile: 'dist/domusd.mjs' }),
]);
